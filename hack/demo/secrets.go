package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID, the shape of an xpander organization id.
func newUUID() string {
	h := randomHex(16)
	b, _ := hex.DecodeString(h)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h = hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// escapeUserinfo percent-encodes every byte that RFC 3986 does not list as unreserved. That
// is stricter than url.UserPassword, which leaves sub-delimiters such as '+' and ';' as they
// are; libpq decodes %XX in every part of a URI, so the strict form is always read back as
// the original text.
func escapeUserinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// connectionURI builds the URI the stand-in hands out, with sslmode=require and any further
// query parameters, and checks that a URI parser reads the same user and password back, so
// that a broken URI is the demo's fault and not blamed on the operator.
func connectionURI(user, password string, port int, database string, params ...string) (string, error) {
	uri := fmt.Sprintf("postgresql://%s:%s@127.0.0.1:%d/%s?%s", escapeUserinfo(user),
		escapeUserinfo(password), port, database, strings.Join(append([]string{"sslmode=require"}, params...), "&"))
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("parse the demo's own connection URI: %w", err)
	}
	if got, _ := u.User.Password(); u.User.Username() != user || got != password {
		return "", fmt.Errorf("the demo's connection URI does not read back as its user and password")
	}
	return uri, nil
}

// pgpassEscape writes s as a field of a .pgpass line, where a backslash makes the next
// character literal.
func pgpassEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`, `*`, `\*`).Replace(s)
}

// secretForms is a password in every form the demo may come across: as typed, in a URI or
// JDBC URL, and in a .pgpass line. The masker hides each of them.
func secretForms(password string) []string {
	return []string{password, escapeUserinfo(password), pgpassEscape(password)}
}

// maskURI shows a connection URI with its password replaced, for printing.
func maskURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<a connection URI that does not parse; not shown>"
	}
	return u.Redacted()
}

// masker replaces every known secret in text it is given; tails of logs go through it before
// they are printed, so that a leak the demo is about to report is not repeated on screen.
type masker struct{ secrets []string }

func (m *masker) add(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			m.secrets = append(m.secrets, s)
		}
	}
}

func (m *masker) mask(text string) string {
	for _, s := range m.secrets {
		text = strings.ReplaceAll(text, s, "*****")
	}
	return text
}

// selfSignedCert returns a PEM certificate and PKCS #8 key for a server on 127.0.0.1. Go's
// crypto keeps the demo free of an openssl dependency.
func selfSignedCert(commonName string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}
