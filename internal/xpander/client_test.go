package xpander

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// apiKey is the key every test sends; it carries a marker so that a leak shows.
const apiKey = "xpk_live_" + markerKey + "_0123456789abcdef"

// writeCAFile writes the certificates into a PEM bundle in a temporary directory and
// returns its path.
func writeCAFile(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	var bundle []byte
	for _, c := range certs {
		bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newClient returns a client for baseURL that trusts the given certificates.
func newClient(t *testing.T, baseURL string, timeout time.Duration, trust ...*x509.Certificate) *Client {
	t.Helper()
	opts := Options{BaseURL: baseURL, Timeout: timeout}
	if len(trust) > 0 {
		opts.CAFile = writeCAFile(t, trust...)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// startStandIn starts the stand-in and a client that trusts it.
func startStandIn(t *testing.T) (*xpandertest.Server, *Client) {
	t.Helper()
	srv := xpandertest.NewServer()
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv.URL, 10*time.Second, srv.Certificate())
}

// expectAPIError checks that err is an *Error of the kind and status, and that it leaks
// nothing of the key, the URI or body.
func expectAPIError(g Gomega, err error, kind Kind, status int, body string) *Error {
	g.Expect(err).To(HaveOccurred())
	var apiErr *Error
	g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "error %q is not an *xpander.Error", err)
	g.Expect(apiErr.Kind).To(Equal(kind), "error: %s", err)
	g.Expect(apiErr.StatusCode).To(Equal(status))
	g.Expect(err.Error()).NotTo(ContainSubstring(apiKey))
	expectNoSecrets(g, err, body)
	return apiErr
}

func TestGetDatabaseReturnsTheStandInAnswer(t *testing.T) {
	const orgID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"

	cases := map[string]struct {
		answer xpandertest.Database
		want   *Database
	}{
		"a Neon answer arrives with its URI byte for byte": {
			answer: xpandertest.NewDatabase("still-meadow-47437464", orgID, neonURI),
			want:   neonDatabase(orgID),
		},
		"an answer with a null organization_id arrives with the organization unknown": {
			answer: xpandertest.Database{
				ID:            "still-meadow-47437464",
				Name:          "org_" + orgID,
				ConnectionURI: &xpandertest.URI{URI: neonURI},
			},
			want: neonDatabase(""),
		},
		"an IPv6 host and a percent-encoded password arrive unchanged": {
			answer: xpandertest.NewDatabase("i", "o", "postgresql://u:p%40ss%2Fw%3Ard@[2001:db8::1234]:5433/db"),
			want: &Database{
				ID: "i", Name: "org_o", OrganizationID: "o",
				ConnectionURI: "postgresql://u:p%40ss%2Fw%3Ard@[2001:db8::1234]:5433/db",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			srv, client := startStandIn(t)
			srv.SetDatabase(apiKey, tc.answer)

			db, err := client.GetDatabase(t.Context(), apiKey)

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(db).To(Equal(tc.want))
			g.Expect(srv.Calls(apiKey)).To(Equal(1))
		})
	}
}

func TestGetDatabaseSendsTheDocumentedRequest(t *testing.T) {
	g := NewWithT(t)

	requests := make(chan *http.Request, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests <- r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(documentedAnswer))
	}))
	t.Cleanup(srv.Close)

	client, err := NewClient(Options{
		BaseURL:   srv.URL,
		CAFile:    writeCAFile(t, srv.Certificate()),
		UserAgent: "xpander-db-operator/test",
	})
	g.Expect(err).NotTo(HaveOccurred())

	_, err = client.GetDatabase(t.Context(), apiKey)
	g.Expect(err).NotTo(HaveOccurred())

	var r *http.Request
	g.Expect(requests).To(Receive(&r))
	g.Expect(r.Method).To(Equal(http.MethodGet))
	g.Expect(r.URL.Path).To(Equal("/v1/misc/db"))
	g.Expect(r.URL.RawQuery).To(BeEmpty())
	g.Expect(r.Header.Values("x-api-key")).To(Equal([]string{apiKey}))
	g.Expect(r.Header.Get("Accept")).To(Equal("application/json"))
	g.Expect(r.Header.Values("Authorization")).To(BeEmpty())
	g.Expect(r.Header.Get("User-Agent")).To(Equal("xpander-db-operator/test"))
	g.Expect(r.ContentLength).To(BeZero())
	g.Expect(r.TLS).NotTo(BeNil())
}

func TestGetDatabaseReportsStatusCodes(t *testing.T) {
	type response = xpandertest.Response

	cases := map[string]struct {
		response   response
		kind       Kind
		retryAfter time.Duration
	}{
		"a 401 answer means the key is wrong or revoked": {
			response: response{Status: 401, Body: `{"detail":"Invalid API key ` + markerBody + `"}`},
			kind:     KindUnauthorized,
		},
		"a 403 answer means the key is wrong or revoked": {
			response: response{Status: 403, Body: `{"detail":"` + markerBody + ` forbidden"}`},
			kind:     KindUnauthorized,
		},
		"a 429 answer with a delay in seconds asks for that wait": {
			response: response{
				Status: 429,
				Header: http.Header{"Retry-After": {"120"}},
				Body:   `{"detail":"slow down ` + markerBody + `"}`,
			},
			kind:       KindRateLimited,
			retryAfter: 2 * time.Minute,
		},
		"a 429 answer without Retry-After asks for no particular wait": {
			response: response{Status: 429, Body: markerBody},
			kind:     KindRateLimited,
		},
		"a 500 answer is a server error": {
			response: response{Status: 500, Body: "Traceback: " + markerBody + " " + secretURI},
			kind:     KindServerError,
		},
		"a 502 answer is a server error": {
			response: response{Status: 502, Body: "<html>" + markerBody + " bad gateway</html>"},
			kind:     KindServerError,
		},
		"a 503 answer is a server error": {
			response: response{Status: 503, Header: http.Header{"Retry-After": {"30"}}, Body: markerBody},
			kind:     KindServerError,
		},
		"a 404 answer is not documented and counts as malformed": {
			response: response{Status: 404, Body: `{"detail":"Not Found ` + markerBody + `"}`},
			kind:     KindMalformed,
		},
		"a 418 answer is not documented and counts as malformed": {
			response: response{Status: 418, Body: markerBody},
			kind:     KindMalformed,
		},
		"a 204 answer has no body and counts as malformed": {
			response: response{Status: 204},
			kind:     KindMalformed,
		},
		"a 200 answer that is an HTML page is malformed": {
			response: response{
				Status: 200,
				Header: http.Header{"Content-Type": {"text/html"}},
				Body:   "<html><body>" + markerBody + "</body></html>",
			},
			kind: KindMalformed,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			srv, client := startStandIn(t)
			// The key also has a good answer, so only the scripted one can explain an error.
			srv.SetDatabase(apiKey, xpandertest.NewDatabase("i", "o", secretURI))
			srv.Script(apiKey, tc.response)

			db, err := client.GetDatabase(t.Context(), apiKey)

			g.Expect(db).To(BeNil())
			apiErr := expectAPIError(g, err, tc.kind, tc.response.Status, tc.response.Body)
			g.Expect(apiErr.RetryAfter).To(Equal(tc.retryAfter))
			g.Expect(srv.Calls(apiKey)).To(Equal(1), "the client must not retry on its own")
		})
	}
}

func TestGetDatabaseReadsRetryAfterAsADate(t *testing.T) {
	g := NewWithT(t)
	srv, client := startStandIn(t)
	srv.Script(apiKey, xpandertest.Response{
		Status: 429,
		Header: http.Header{"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}},
	})

	_, err := client.GetDatabase(t.Context(), apiKey)

	apiErr := expectAPIError(g, err, KindRateLimited, 429, "")
	// The date has whole seconds, so up to a second is lost to truncation, plus the call.
	g.Expect(apiErr.RetryAfter).To(BeNumerically("~", 89*time.Second, time.Second+500*time.Millisecond))
}

// TestGetDatabaseDecodesOverTheWire replays every decoding case through the stand-in, so
// that reading the body (not only decoding it) gives the same result.
func TestGetDatabaseDecodesOverTheWire(t *testing.T) {
	srv, client := startStandIn(t)
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv.Script(apiKey, xpandertest.Response{
				Status: 200,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   tc.body,
			})

			db, err := client.GetDatabase(t.Context(), apiKey)

			if tc.want != nil {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(db).To(Equal(tc.want))
				return
			}
			g.Expect(db).To(BeNil())
			expectAPIError(g, err, tc.kind, 200, tc.body)
		})
	}
}

func TestGetDatabaseLimitsTheAnswerSize(t *testing.T) {
	// answerOfSize is a valid answer padded with an unknown field to exactly n bytes.
	answerOfSize := func(n int) string {
		head := `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"},"pad":"`
		tail := `"}`
		return head + strings.Repeat(markerBody[:1], n-len(head)-len(tail)) + tail
	}

	t.Run("an answer of exactly MaxResponseBytes is read", func(t *testing.T) {
		g := NewWithT(t)
		srv, client := startStandIn(t)
		srv.Script(apiKey, xpandertest.Response{Status: 200, Body: answerOfSize(MaxResponseBytes)})

		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(db.ConnectionURI).To(Equal(secretURI))
	})

	t.Run("an answer one byte over MaxResponseBytes is malformed", func(t *testing.T) {
		g := NewWithT(t)
		srv, client := startStandIn(t)
		body := answerOfSize(MaxResponseBytes + 1)
		srv.Script(apiKey, xpandertest.Response{Status: 200, Body: body})

		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(db).To(BeNil())
		expectAPIError(g, err, KindMalformed, 200, body)
		g.Expect(err.Error()).To(ContainSubstring("larger than"))
	})

	t.Run("a huge answer is malformed", func(t *testing.T) {
		g := NewWithT(t)
		srv, client := startStandIn(t)
		body := answerOfSize(16 * MaxResponseBytes)
		srv.Script(apiKey, xpandertest.Response{Status: 200, Body: body})

		_, err := client.GetDatabase(t.Context(), apiKey)

		expectAPIError(g, err, KindMalformed, 200, body)
	})
}

func TestGetDatabaseDoesNotFollowRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run("a "+http.StatusText(code)+" answer is returned, not followed", func(t *testing.T) {
			g := NewWithT(t)

			// other would answer well, and the client trusts it: only the client's refusal to
			// follow keeps the request, and the key, from reaching it.
			other := xpandertest.NewServer()
			t.Cleanup(other.Close)
			other.SetDatabase(apiKey, xpandertest.NewDatabase("i", "o", secretURI))

			srv := xpandertest.NewServer()
			t.Cleanup(srv.Close)
			srv.Script(apiKey, xpandertest.Response{
				Status: code,
				Header: http.Header{"Location": {other.URL + "/v1/misc/db"}},
				Body:   markerBody,
			})
			client := newClient(t, srv.URL, 10*time.Second, srv.Certificate(), other.Certificate())

			db, err := client.GetDatabase(t.Context(), apiKey)

			g.Expect(db).To(BeNil())
			expectAPIError(g, err, KindMalformed, code, markerBody)
			g.Expect(err.Error()).NotTo(ContainSubstring(other.URL))
			g.Expect(srv.Calls(apiKey)).To(Equal(1))
			g.Expect(other.CallLog()).To(BeEmpty())
		})
	}
}

func TestGetDatabaseReportsNetworkFailures(t *testing.T) {
	t.Run("a closed port on loopback is a network error", func(t *testing.T) {
		g := NewWithT(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		g.Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		g.Expect(l.Close()).To(Succeed())
		client := newClient(t, "https://"+addr, 10*time.Second)

		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(db).To(BeNil())
		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(err.Error()).To(ContainSubstring("call xpander API"))
	})

	t.Run("a server that never answers times out after Options.Timeout", func(t *testing.T) {
		g := NewWithT(t)
		srv := startHangingServer(t, false)
		client := newClient(t, srv.URL, 200*time.Millisecond, srv.Certificate())

		start := time.Now()
		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		g.Expect(db).To(BeNil())
		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(err.Error()).To(ContainSubstring("timed out"))
	})

	t.Run("a server that stops halfway through the body times out after Options.Timeout", func(t *testing.T) {
		g := NewWithT(t)
		srv := startHangingServer(t, true)
		client := newClient(t, srv.URL, 200*time.Millisecond, srv.Certificate())

		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(db).To(BeNil())
		expectAPIError(g, err, KindNetwork, 0, `{"id":"i","connection_uri":{"uri":"`+secretURI)
		g.Expect(err.Error()).To(ContainSubstring("timed out"))
	})

	t.Run("a caller's deadline shorter than the timeout also times out", func(t *testing.T) {
		g := NewWithT(t)
		srv := startHangingServer(t, false)
		client := newClient(t, srv.URL, time.Minute, srv.Certificate())
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()

		_, err := client.GetDatabase(ctx, apiKey)

		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(err.Error()).To(ContainSubstring("timed out"))
	})

	t.Run("a cancelled context fails without reaching the server", func(t *testing.T) {
		g := NewWithT(t)
		srv, client := startStandIn(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		_, err := client.GetDatabase(ctx, apiKey)

		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(errors.Is(err, context.Canceled)).To(BeTrue())
		g.Expect(srv.CallLog()).To(BeEmpty())
	})

	t.Run("a server whose certificate is not trusted is a network error and gets no key", func(t *testing.T) {
		g := NewWithT(t)
		srv := xpandertest.NewServer()
		t.Cleanup(srv.Close)
		srv.SetDatabase(apiKey, xpandertest.NewDatabase("i", "o", secretURI))
		client := newClient(t, srv.URL, 10*time.Second) // the system's roots only

		db, err := client.GetDatabase(t.Context(), apiKey)

		g.Expect(db).To(BeNil())
		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(err.Error()).To(ContainSubstring("certificate"))
		g.Expect(srv.CallLog()).To(BeEmpty())
	})

	t.Run("a server whose certificate is not the trusted one is a network error and gets no key", func(t *testing.T) {
		g := NewWithT(t)
		srv := xpandertest.NewServer()
		t.Cleanup(srv.Close)
		srv.SetDatabase(apiKey, xpandertest.NewDatabase("i", "o", secretURI))
		other := xpandertest.NewServer()
		t.Cleanup(other.Close)
		client := newClient(t, srv.URL, 10*time.Second, other.Certificate())

		_, err := client.GetDatabase(t.Context(), apiKey)

		expectAPIError(g, err, KindNetwork, 0, "")
		g.Expect(srv.CallLog()).To(BeEmpty())
	})
}

// startHangingServer starts a TLS server on loopback that answers nothing until the client
// goes away or the test ends. With partial, it first sends the headers and the start of a
// body that holds a password.
func startHangingServer(t *testing.T, partial bool) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if partial {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			_, _ = w.Write([]byte(`{"id":"i","connection_uri":{"uri":"` + secretURI))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	// Cleanups run last first: release the handlers, then close the server.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	return srv
}

func TestNewClientChecksTheBaseURL(t *testing.T) {
	// A password in user info is a marker: it must not reach the error either.
	const pw = "PWMARK9z"

	rejected := map[string]string{
		"an http URL is refused":                         "http://127.0.0.1:8443",
		"an http URL with a password is refused":         "http://user:" + pw + "@127.0.0.1:8443",
		"a URL without a scheme is refused":              "api.xpander.ai",
		"a host and port without a scheme is refused":    "127.0.0.1:8443",
		"another scheme is refused":                      "ftp://127.0.0.1",
		"a URL with user info is refused":                "https://user:" + pw + "@127.0.0.1:8443",
		"a URL with only a user name is refused":         "https://" + pw + "@127.0.0.1:8443",
		"a URL with a query is refused":                  "https://127.0.0.1:8443/?token=" + pw,
		"a URL with an empty query is refused":           "https://127.0.0.1:8443?",
		"a URL with a fragment is refused":               "https://127.0.0.1:8443/#" + pw,
		"a URL with no host is refused":                  "https://",
		"a URL with a path but no host is refused":       "https:///v1",
		"a URL with a port but no host is refused":       "https://:8443",
		"an opaque URL is refused":                       "https:127.0.0.1",
		"a URL that does not parse is refused":           "https://user:" + pw + "@127.0.0.1:8443/%zz",
		"a URL with a space in the host is refused":      "https://127.0.0.1 :8443",
		"a URL with a control character is refused":      "https://127.0.0.1:8443/\x7f" + pw,
		"a URL with white space around it is refused":    " https://127.0.0.1:8443",
		"a URL with a newline after the host is refused": "https://127.0.0.1:8443\n",
	}
	for name, base := range rejected {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)

			client, err := NewClient(Options{BaseURL: base})

			g.Expect(err).To(HaveOccurred())
			g.Expect(client).To(BeNil())
			g.Expect(err.Error()).To(ContainSubstring("xpander API URL"))
			g.Expect(err.Error()).NotTo(ContainSubstring(pw))
		})
	}

	accepted := map[string]struct {
		base     string
		endpoint string
	}{
		"an empty URL means xpander's public API": {
			"", "https://api.xpander.ai/v1/misc/db",
		},
		"the public API's URL is accepted": {
			DefaultBaseURL, "https://api.xpander.ai/v1/misc/db",
		},
		"a trailing slash is accepted": {
			"https://127.0.0.1:8443/", "https://127.0.0.1:8443/v1/misc/db",
		},
		"a path prefix is kept": {
			"https://127.0.0.1:8443/xpander", "https://127.0.0.1:8443/xpander/v1/misc/db",
		},
		"an IPv6 loopback host is accepted": {
			"https://[::1]:8443", "https://[::1]:8443/v1/misc/db",
		},
		"an upper-case scheme is accepted": {
			"HTTPS://127.0.0.1:8443", "https://127.0.0.1:8443/v1/misc/db",
		},
	}
	for name, tc := range accepted {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)

			// Only Endpoint is looked at: nothing here is ever called.
			client, err := NewClient(Options{BaseURL: tc.base})

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(client.Endpoint()).To(Equal(tc.endpoint))
		})
	}
}

func TestNewClientWithATrailingSlashCallsTheRightPath(t *testing.T) {
	g := NewWithT(t)
	srv := xpandertest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetDatabase(apiKey, xpandertest.NewDatabase("i", "o", neonURI))
	client := newClient(t, srv.URL+"/", 10*time.Second, srv.Certificate())

	db, err := client.GetDatabase(t.Context(), apiKey)

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(db.ConnectionURI).To(Equal(neonURI))
}

func TestNewClientChecksTheCAFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	cases := map[string]struct {
		path    string
		mention string
	}{
		"a CA file that does not exist is refused": {
			filepath.Join(dir, "missing.pem"), "read xpander API CA bundle",
		},
		"a directory in place of a CA file is refused": {
			dir, "read xpander API CA bundle",
		},
		"a CA file with no PEM in it is refused": {
			write("text.pem", "this is not a certificate\n"), "holds no PEM certificate",
		},
		"an empty CA file is refused": {
			write("empty.pem", ""), "holds no PEM certificate",
		},
		"a CA file whose PEM block is not a certificate is refused": {
			write("garbage.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))),
			"holds no PEM certificate",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)

			client, err := NewClient(Options{BaseURL: "https://127.0.0.1:8443", CAFile: tc.path})

			g.Expect(err).To(HaveOccurred())
			g.Expect(client).To(BeNil())
			g.Expect(err.Error()).To(ContainSubstring(tc.mention))
		})
	}
}

func TestNewClientTimeout(t *testing.T) {
	cases := map[string]struct {
		timeout time.Duration
		want    time.Duration
	}{
		"no timeout means the default":         {0, DefaultTimeout},
		"a negative timeout means the default": {-time.Second, DefaultTimeout},
		"a timeout is used as given":           {3 * time.Second, 3 * time.Second},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)

			client, err := NewClient(Options{BaseURL: "https://127.0.0.1:8443", Timeout: tc.timeout})

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(client.http.Timeout).To(Equal(tc.want))
		})
	}
}

func TestKindOf(t *testing.T) {
	g := NewWithT(t)
	wrapped := &wrapError{&Error{Kind: KindRateLimited}}

	g.Expect(KindOf(wrapped)).To(Equal(KindRateLimited))
	g.Expect(KindOf(errors.New("other"))).To(Equal(KindUnknown))
	g.Expect(KindOf(nil)).To(Equal(KindUnknown))
	for k := KindUnauthorized; k <= KindNoConnectionURI; k++ {
		g.Expect(k.String()).NotTo(Equal("Unknown"), "kind %d has no name", int(k))
	}
}

type wrapError struct{ err error }

func (w *wrapError) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapError) Unwrap() error { return w.err }
