// Package xpander is a client for the one xpander.ai API call the operator makes:
// GET /v1/misc/db, which answers with an organization's PostgreSQL connection.
package xpander

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xpander-ai/xpander-db-operator/internal/metrics"
)

const (
	// DefaultBaseURL is xpander.ai's public API.
	DefaultBaseURL = "https://api.xpander.ai"

	// DefaultTimeout bounds one call, from dialing to the last byte of the answer.
	DefaultTimeout = 30 * time.Second

	// MaxResponseBytes caps how much of an answer is read. The documented answer is a few
	// hundred bytes; anything near this size is not that answer.
	MaxResponseBytes = 64 << 10

	// MaxNameLength bounds the answer's id, name and organization_id.
	MaxNameLength = 253

	// DatabasePath is the endpoint that hands out the organization's connection.
	DatabasePath = "/v1/misc/db"

	// APIKeyHeader carries the organization API key; xpander documents no other scheme.
	APIKeyHeader = "x-api-key"
)

// Database is the API's answer, decoded.
type Database struct {
	// ID identifies the organization's database project, e.g. "still-meadow-47437464".
	ID string
	// Name is the project's name, usually "org_<organization id>".
	Name string
	// OrganizationID is empty when the API answered null or left it out.
	OrganizationID string
	// ConnectionURI is the postgresql:// URI exactly as received. It holds a password.
	ConnectionURI string
}

// Options configure a Client.
type Options struct {
	// BaseURL is the API's scheme and host, e.g. DefaultBaseURL. It must be https and carry
	// no user information, query or fragment.
	BaseURL string
	// CAFile names a PEM bundle trusted in addition to the system's roots. Optional.
	CAFile string
	// Timeout bounds one call; DefaultTimeout when zero.
	Timeout time.Duration
	// UserAgent is sent with every call. Optional.
	UserAgent string
}

// Client calls the xpander API. It is safe for concurrent use.
type Client struct {
	endpoint  string
	userAgent string
	http      *http.Client
}

// NewClient checks opts and returns a Client that sends the API key only to opts.BaseURL,
// only over TLS with a verified certificate, and never follows a redirect.
func NewClient(opts Options) (*Client, error) {
	endpoint, err := endpointURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}

	roots, err := rootCAs(opts.CAFile)
	if err != nil {
		return nil, err
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	transport.MaxIdleConnsPerHost = 4

	return &Client{
		endpoint:  endpoint,
		userAgent: opts.UserAgent,
		http: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// A redirect would carry the key header to wherever the answer points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func endpointURL(base string) (string, error) {
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", errors.New("xpander API URL is not a valid URL")
	}
	switch {
	case u.Scheme != "https":
		return "", fmt.Errorf("xpander API URL must use https, not %q", u.Scheme)
	case u.Hostname() == "":
		// Not u.Host: "https://:8443" has Host ":8443", and dialing it reaches this machine.
		return "", errors.New("xpander API URL has no host")
	case u.User != nil:
		return "", errors.New("xpander API URL must not carry user information")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		// ForceQuery: a bare "?" would survive u.String() and put the path in the query.
		return "", errors.New("xpander API URL must not carry a query or fragment")
	}
	return strings.TrimSuffix(u.String(), "/") + DatabasePath, nil
}

func rootCAs(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil // the system's roots
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read xpander API CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("xpander API CA bundle %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// Endpoint returns the URL the client calls. It holds no credentials.
func (c *Client) Endpoint() string { return c.endpoint }

// GetDatabase asks the API for the organization's database connection. Every error it
// returns is an *Error.
func (c *Client) GetDatabase(ctx context.Context, apiKey string) (*Database, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return nil, &Error{Kind: KindNetwork, msg: "build request", err: err}
	}
	req.Header.Set(APIKeyHeader, apiKey)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	metrics.APIRequestDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.APIRequests.WithLabelValues("error").Inc()
		return nil, networkError(err)
	}
	defer resp.Body.Close()
	metrics.APIRequests.WithLabelValues(metrics.StatusClass(resp.StatusCode)).Inc()

	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, networkError(err)
	}

	if err := statusError(resp); err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBytes {
		return nil, newError(KindMalformed, resp.StatusCode,
			"xpander API answer is larger than %d bytes", MaxResponseBytes)
	}
	return decodeDatabase(body, resp.StatusCode)
}

// networkError keeps the cause of a failed round trip but drops the URL that *url.Error
// would repeat; the endpoint is known and a proxy URL from the environment may hold a
// password.
func networkError(err error) *Error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindNetwork, msg: "call xpander API: timed out", err: err}
	}
	return &Error{Kind: KindNetwork, msg: "call xpander API", err: err}
}

func statusError(resp *http.Response) error {
	code := resp.StatusCode
	switch {
	case code == http.StatusOK:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return newError(KindUnauthorized, code,
			"xpander API refused the API key (HTTP %d): the key is wrong or was revoked", code)
	case code == http.StatusTooManyRequests:
		e := newError(KindRateLimited, code, "xpander API is rate limiting this key (HTTP 429)")
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	case code >= 500:
		return newError(KindServerError, code, "xpander API answered HTTP %d", code)
	default:
		return newError(KindMalformed, code, "xpander API answered HTTP %d, which it does not document", code)
	}
}

// maxRetryAfter caps the wait a 429 answer can ask for, in either form of Retry-After.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads both forms RFC 9110 allows: delay-seconds (digits only) and an
// HTTP-date. It returns 0 when the header is absent, malformed or in the past, and at most
// maxRetryAfter.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if strings.Trim(value, "0123456789") == "" {
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			// Digits only, so the one possible error is a number too large for an int64.
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return min(at.Sub(now), maxRetryAfter)
	}
	return 0
}

// answer mirrors the documented JSON. Pointers tell null and absent apart from empty.
type answer struct {
	ID             *string `json:"id"`
	Name           *string `json:"name"`
	OrganizationID *string `json:"organization_id"`
	ConnectionURI  *struct {
		URI *string `json:"uri"`
	} `json:"connection_uri"`
}

// jsonSpace is the white space JSON allows around a value (RFC 8259, section 2).
const jsonSpace = " \t\r\n"

func decodeDatabase(body []byte, status int) (*Database, error) {
	malformed := func(format string, args ...any) error {
		return newError(KindMalformed, status, "xpander API answer is malformed: "+format, args...)
	}

	// Only JSON's own white space: bytes.TrimSpace would also drop Unicode spaces, which
	// are not JSON.
	trimmed := bytes.Trim(body, jsonSpace)
	if len(trimmed) == 0 {
		return nil, malformed("empty body")
	}
	if trimmed[0] != '{' {
		return nil, malformed("not a JSON object")
	}

	var a answer
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&a); err != nil {
		return nil, malformed("%s", describeJSONError(err))
	}
	// Decoder.More reports false for a stray '}' or ']', so compare offsets instead:
	// trimmed ends in something other than white space, so any byte left over is data.
	if dec.InputOffset() != int64(len(trimmed)) {
		return nil, malformed("data after the JSON object")
	}

	switch {
	case a.ID == nil || *a.ID == "":
		return nil, malformed("field id is missing or empty")
	case a.Name == nil || *a.Name == "":
		return nil, malformed("field name is missing or empty")
	}

	db := &Database{ID: *a.ID, Name: *a.Name}
	if a.OrganizationID != nil {
		db.OrganizationID = *a.OrganizationID
	}
	// These three go into status, conditions and events: they must be short, printable
	// names, as the documented answer's are.
	for _, f := range []struct{ name, value string }{
		{"id", db.ID}, {"name", db.Name}, {"organization_id", db.OrganizationID},
	} {
		if len(f.value) > MaxNameLength {
			return nil, malformed("field %s is longer than %d bytes", f.name, MaxNameLength)
		}
		if strings.ContainsFunc(f.value, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) {
			return nil, malformed("field %s holds characters that are not printable", f.name)
		}
	}
	if a.ConnectionURI == nil || a.ConnectionURI.URI == nil || *a.ConnectionURI.URI == "" {
		return nil, newError(KindNoConnectionURI, status,
			"xpander API has no connection URI for this organization yet (connection_uri is empty)")
	}
	db.ConnectionURI = *a.ConnectionURI.URI
	return db, nil
}

// describeJSONError says where decoding failed without quoting the input, which may hold
// a password: encoding/json's own messages can repeat a character or a value of it.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s is a JSON %s, not %s", typ.Field, typ.Value, jsonType(typ.Type.String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON ends early"
	default:
		return "invalid JSON"
	}
}

// jsonType names the JSON type a field of Go type goType holds, with its article.
func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "struct"):
		return "an object"
	default:
		return "a " + goType
	}
}
