package xpandertest_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

const neonURI = "postgresql://user:password@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/" +
	"xpander?channel_binding=require&sslmode=require"

// secretPassword is the password in secretURI. It has no character that JSON escapes, so
// finding it in a body means the URI was sent.
const (
	secretPassword = "SECRETPW"
	secretURI      = "postgresql://u:" + secretPassword + "@h/db"
)

// connectionURI returns the connection URI in a documented answer's body.
func connectionURI(g Gomega, body string) string {
	var db xpandertest.Database
	g.Expect(json.Unmarshal([]byte(body), &db)).To(Succeed())
	g.Expect(db.ConnectionURI).NotTo(BeNil())
	return db.ConnectionURI.URI
}

// answer is what one request to the stand-in got back.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends one request to srv, with key in x-api-key unless it is empty.
func call(t *testing.T, srv *xpandertest.Server, method, path, key string) answer {
	t.Helper()
	got, err := send(srv, method, path, key)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// send is call for goroutines, which must not call t.Fatal.
func send(srv *xpandertest.Server, method, path, key string) (answer, error) {
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		return answer{}, err
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}, err
}

func get(t *testing.T, srv *xpandertest.Server, key string) answer {
	t.Helper()
	return call(t, srv, http.MethodGet, "/v1/misc/db", key)
}

func start(t *testing.T) *xpandertest.Server {
	t.Helper()
	srv := xpandertest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func TestStandInAnswersInTheDocumentedSchema(t *testing.T) {
	const orgID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"

	cases := map[string]struct {
		db   xpandertest.Database
		want map[string]any
	}{
		"a database from NewDatabase has every documented field": {
			db: xpandertest.NewDatabase("still-meadow-47437464", orgID, neonURI),
			want: map[string]any{
				"id":              "still-meadow-47437464",
				"name":            "org_" + orgID,
				"organization_id": orgID,
				"connection_uri":  map[string]any{"uri": neonURI},
			},
		},
		"a database without organization or URI sends them as null": {
			db: xpandertest.Database{ID: "still-meadow-47437464", Name: "org_" + orgID},
			want: map[string]any{
				"id":              "still-meadow-47437464",
				"name":            "org_" + orgID,
				"organization_id": nil,
				"connection_uri":  nil,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			srv := start(t)
			srv.SetDatabase("key-1", tc.db)

			got := get(t, srv, "key-1")

			g.Expect(got.status).To(Equal(http.StatusOK))
			g.Expect(got.header.Get("Content-Type")).To(Equal("application/json"))
			var fields map[string]any
			g.Expect(json.Unmarshal([]byte(got.body), &fields)).To(Succeed())
			g.Expect(fields).To(Equal(tc.want))
		})
	}
}

func TestStandInRefusesKeysItDoesNotKnow(t *testing.T) {
	cases := map[string]string{
		"an unknown key gets a 401 in JSON":       "key-unknown",
		"a call without a key gets a 401 in JSON": "",
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			srv := start(t)
			srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

			got := get(t, srv, key)

			g.Expect(got.status).To(Equal(http.StatusUnauthorized))
			g.Expect(got.header.Get("Content-Type")).To(Equal("application/json"))
			var detail map[string]string
			g.Expect(json.Unmarshal([]byte(got.body), &detail)).To(Succeed())
			g.Expect(detail).To(HaveKeyWithValue("detail", Not(BeEmpty())))
			g.Expect(got.body).NotTo(ContainSubstring(secretPassword))
		})
	}
}

func TestStandInPlaysScriptsInOrder(t *testing.T) {
	t.Run("scripted answers are used in order, then the database answers again", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", neonURI))
		srv.Script("key-1",
			xpandertest.Response{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: "first"},
			xpandertest.Response{Status: 503, Body: "second"},
		)
		srv.Script("key-1", xpandertest.Response{Status: 200, Body: `{"third":true}`})

		first, second, third, fourth := get(t, srv, "key-1"), get(t, srv, "key-1"), get(t, srv, "key-1"), get(t, srv, "key-1")

		g.Expect(first.status).To(Equal(429))
		g.Expect(first.header.Get("Retry-After")).To(Equal("7"))
		g.Expect(first.body).To(Equal("first"))
		g.Expect(second.status).To(Equal(503))
		g.Expect(second.body).To(Equal("second"))
		g.Expect(third.status).To(Equal(200))
		g.Expect(third.body).To(Equal(`{"third":true}`))
		g.Expect(fourth.status).To(Equal(200))
		g.Expect(connectionURI(g, fourth.body)).To(Equal(neonURI))
	})

	t.Run("a script for a key without a database falls back to a 401", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.Script("key-2", xpandertest.Response{Status: 200, Body: "scripted"})

		g.Expect(get(t, srv, "key-2").body).To(Equal("scripted"))
		g.Expect(get(t, srv, "key-2").status).To(Equal(http.StatusUnauthorized))
	})

	t.Run("a script for one key leaves other keys alone", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))
		srv.SetDatabase("key-2", xpandertest.NewDatabase("i", "o", secretURI))
		srv.Script("key-2", xpandertest.Response{Status: 500})

		g.Expect(get(t, srv, "key-1").status).To(Equal(http.StatusOK))
		g.Expect(get(t, srv, "key-2").status).To(Equal(http.StatusInternalServerError))
	})

	t.Run("a scripted answer without a status is a 200", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.Script("key-1", xpandertest.Response{Body: "no status"})

		got := get(t, srv, "key-1")

		g.Expect(got.status).To(Equal(http.StatusOK))
		g.Expect(got.body).To(Equal("no status"))
	})

	t.Run("a set response answers after the script until the database is set again", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))
		srv.Script("key-1", xpandertest.Response{Status: 502})
		srv.SetResponse("key-1", xpandertest.Response{Status: 503, Body: "down"})

		g.Expect(get(t, srv, "key-1").status).To(Equal(502))
		g.Expect(get(t, srv, "key-1").status).To(Equal(503))
		g.Expect(get(t, srv, "key-1").status).To(Equal(503))
		srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", neonURI))
		got := get(t, srv, "key-1")
		g.Expect(got.status).To(Equal(200))
		g.Expect(connectionURI(g, got.body)).To(Equal(neonURI))
	})

	t.Run("a removed key is refused and its script is dropped", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)
		srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))
		srv.Script("key-1", xpandertest.Response{Status: 200, Body: "scripted"})
		srv.SetResponse("key-1", xpandertest.Response{Status: 200, Body: "set"})

		srv.RemoveKey("key-1")

		got := get(t, srv, "key-1")
		g.Expect(got.status).To(Equal(http.StatusUnauthorized))
		g.Expect(got.body).NotTo(ContainSubstring(secretPassword))
	})
}

func TestStandInCountsCallsPerKey(t *testing.T) {
	g := NewWithT(t)
	srv := start(t)
	srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

	get(t, srv, "key-1")
	get(t, srv, "key-2")
	get(t, srv, "key-1")

	g.Expect(srv.Calls("key-1")).To(Equal(2))
	g.Expect(srv.Calls("key-2")).To(Equal(1))
	g.Expect(srv.Calls("key-3")).To(BeZero())
	log := srv.CallLog()
	g.Expect(log).To(HaveLen(3))
	g.Expect([]string{log[0].APIKey, log[1].APIKey, log[2].APIKey}).To(Equal([]string{"key-1", "key-2", "key-1"}))
	g.Expect(log[0].Time).NotTo(BeZero())
	g.Expect(log[1].Time.Before(log[0].Time)).To(BeFalse())
}

func TestStandInCountsConcurrentCalls(t *testing.T) {
	g := NewWithT(t)
	srv := start(t)
	srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

	const n = 16
	answers := make(chan answer, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			got, err := send(srv, http.MethodGet, "/v1/misc/db", "key-1")
			answers <- got
			errs <- err
		})
	}
	wg.Wait()
	close(answers)
	close(errs)

	for err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
	for got := range answers {
		g.Expect(got.status).To(Equal(http.StatusOK))
	}
	g.Expect(srv.Calls("key-1")).To(Equal(n))
}

func TestStandInServesOnlyGetOnItsPath(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
		t.Run("a "+method+" call gets a 405 that allows GET", func(t *testing.T) {
			g := NewWithT(t)
			srv := start(t)
			srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

			got := call(t, srv, method, "/v1/misc/db", "key-1")

			g.Expect(got.status).To(Equal(http.StatusMethodNotAllowed))
			g.Expect(got.header.Get("Allow")).To(Equal(http.MethodGet))
			g.Expect(got.body).NotTo(ContainSubstring(secretPassword))
		})
	}

	for _, path := range []string{"/", "/v1/misc", "/v1/misc/db/", "/v1/misc/DB", "/v2/misc/db"} {
		t.Run("a call to "+path+" gets a 404", func(t *testing.T) {
			g := NewWithT(t)
			srv := start(t)
			srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

			got := call(t, srv, http.MethodGet, path, "key-1")

			g.Expect(got.status).To(Equal(http.StatusNotFound))
			g.Expect(got.header.Get("Content-Type")).To(Equal("application/json"))
			g.Expect(got.body).NotTo(ContainSubstring(secretPassword))
		})
	}
}

func TestStandInCertificate(t *testing.T) {
	t.Run("each server has its own certificate", func(t *testing.T) {
		g := NewWithT(t)
		a, b := start(t), start(t)

		g.Expect(a.Certificate().Raw).NotTo(Equal(b.Certificate().Raw))
		g.Expect(a.Certificate().PublicKey).NotTo(Equal(b.Certificate().PublicKey))
	})

	t.Run("the certificate cannot sign other certificates", func(t *testing.T) {
		g := NewWithT(t)
		cert := start(t).Certificate()

		g.Expect(cert.IsCA).To(BeFalse())
		g.Expect(cert.KeyUsage & x509.KeyUsageCertSign).To(BeZero())
	})

	t.Run("the PEM and the pool both verify the server for its documented names", func(t *testing.T) {
		g := NewWithT(t)
		srv := start(t)

		block, rest := pem.Decode(srv.CACertPEM())
		g.Expect(block).NotTo(BeNil())
		g.Expect(block.Type).To(Equal("CERTIFICATE"))
		g.Expect(strings.TrimSpace(string(rest))).To(BeEmpty())
		g.Expect(block.Bytes).To(Equal(srv.Certificate().Raw))

		fromPEM := x509.NewCertPool()
		g.Expect(fromPEM.AppendCertsFromPEM(srv.CACertPEM())).To(BeTrue())
		for _, pool := range []*x509.CertPool{fromPEM, srv.CertPool()} {
			for _, name := range []string{"127.0.0.1", "::1", "example.com"} {
				_, err := srv.Certificate().Verify(x509.VerifyOptions{Roots: pool, DNSName: name})
				g.Expect(err).NotTo(HaveOccurred(), "name %s", name)
			}
			_, err := srv.Certificate().Verify(x509.VerifyOptions{Roots: pool, DNSName: "api.xpander.ai"})
			g.Expect(err).To(HaveOccurred())
		}
	})

	t.Run("another server's certificate does not verify this one", func(t *testing.T) {
		g := NewWithT(t)
		a, b := start(t), start(t)

		_, err := a.Certificate().Verify(x509.VerifyOptions{Roots: b.CertPool(), DNSName: "127.0.0.1"})

		g.Expect(err).To(HaveOccurred())
	})
}

func TestStandInOnAChosenListener(t *testing.T) {
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	srv := xpandertest.NewServerOn(l)
	t.Cleanup(srv.Close)
	srv.SetDatabase("key-1", xpandertest.NewDatabase("i", "o", secretURI))

	g.Expect(srv.URL).To(Equal("https://" + l.Addr().String()))
	g.Expect(get(t, srv, "key-1").status).To(Equal(http.StatusOK))
}
