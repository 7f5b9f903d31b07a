// Package xpandertest is a stand-in for the xpander.ai API's GET /v1/misc/db, served over TLS
// on loopback. It answers in the documented schema, can be scripted per API key to answer
// with any status, header or body, and counts the calls it receives. Tests and the demo use
// it; the operator's own client code runs unchanged against it.
package xpandertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

const (
	databasePath = "/v1/misc/db"
	apiKeyHeader = "x-api-key"
)

// Database is an answer in the documented schema. A nil OrganizationID or ConnectionURI is
// sent as JSON null.
type Database struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	OrganizationID *string `json:"organization_id"`
	ConnectionURI  *URI    `json:"connection_uri"`
}

// URI is the documented connection_uri object.
type URI struct {
	URI string `json:"uri"`
}

// NewDatabase returns a well-formed answer for the given organization and connection URI.
func NewDatabase(id, organizationID, uri string) Database {
	return Database{
		ID:             id,
		Name:           "org_" + organizationID,
		OrganizationID: &organizationID,
		ConnectionURI:  &URI{URI: uri},
	}
}

// Response is a scripted raw answer. A zero Status is sent as 200.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Call is one request the server received.
type Call struct {
	Time   time.Time
	APIKey string
}

// Server is the stand-in. Keys it has no answer for get a 401, as the real API gives an
// unknown key.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	databases map[string]Database
	scripts   map[string][]Response
	sticky    map[string]Response
	calls     []Call
}

// NewServer starts a stand-in on an ephemeral loopback port with its own self-signed
// certificate (valid for 127.0.0.1, ::1 and example.com).
func NewServer() *Server {
	s := newServer()
	s.StartTLS()
	return s
}

// NewServerOn is NewServer on a chosen listener, for a stand-in that outlives a test.
func NewServerOn(l net.Listener) *Server {
	s := newServer()
	s.Listener.Close()
	s.Listener = l
	s.StartTLS()
	return s
}

func newServer() *Server {
	s := &Server{
		databases: map[string]Database{},
		scripts:   map[string][]Response{},
		sticky:    map[string]Response{},
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// httptest's own certificate is a CA whose private key ships with Go's source: a client
	// that trusted it could be handed a forged certificate for any host, xpander's included.
	s.TLS = &tls.Config{Certificates: []tls.Certificate{selfSignedCertificate()}}
	return s
}

// selfSignedCertificate returns a certificate with a fresh key for 127.0.0.1, ::1 and
// example.com. It is not a CA, so trusting it trusts this server and nothing else.
func selfSignedCertificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("xpandertest: generate key: " + err.Error())
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic("xpandertest: generate serial number: " + err.Error())
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "xpandertest stand-in"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		panic("xpandertest: create certificate: " + err.Error())
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// CACertPEM returns the server certificate in PEM, for a client's trust bundle.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// CertPool returns a pool that trusts the server.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return pool
}

// SetDatabase makes the server answer apiKey with db from now on.
func (s *Server) SetDatabase(apiKey string, db Database) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.databases[apiKey] = db
	delete(s.sticky, apiKey)
}

// SetResponse makes the server answer apiKey with r on every call after the scripted ones,
// until SetDatabase or RemoveKey is called for that key.
func (s *Server) SetResponse(apiKey string, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky[apiKey] = r
}

// RemoveKey makes the server refuse apiKey with a 401, as for a revoked key.
func (s *Server) RemoveKey(apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.databases, apiKey)
	delete(s.scripts, apiKey)
	delete(s.sticky, apiKey)
}

// Script queues raw answers for apiKey. Each call takes the next one; when the queue is
// empty, the key's Database (or a 401) answers again.
func (s *Server) Script(apiKey string, responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[apiKey] = append(s.scripts[apiKey], responses...)
}

// Calls returns how many calls carried apiKey.
func (s *Server) Calls(apiKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.APIKey == apiKey {
			n++
		}
	}
	return n
}

// CallLog returns every call received so far, oldest first.
func (s *Server) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != databasePath {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}

	key := r.Header.Get(apiKeyHeader)

	s.mu.Lock()
	s.calls = append(s.calls, Call{Time: time.Now(), APIKey: key})
	var scripted *Response
	if queue := s.scripts[key]; len(queue) > 0 {
		scripted = &queue[0]
		s.scripts[key] = queue[1:]
	} else if r, ok := s.sticky[key]; ok {
		scripted = &r
	}
	db, known := s.databases[key]
	s.mu.Unlock()

	switch {
	case scripted != nil:
		for name, values := range scripted.Header {
			w.Header()[name] = values
		}
		status := scripted.Status
		if status == 0 {
			// WriteHeader panics on 0, which the client would only see as a dropped connection.
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(scripted.Body))
	case key == "" || !known:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Invalid API key"})
	default:
		writeJSON(w, http.StatusOK, db)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
