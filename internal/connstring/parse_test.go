package connstring_test

import (
	"errors"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

func TestParseReadsURIsAsLibpqDoes(t *testing.T) {
	for _, tc := range uriCases {
		if tc.want == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)

			c, err := connstring.Parse(tc.uri)

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c).To(Equal(tc.want))
			g.Expect(c.HostList()).To(Equal(tc.hostList), "HostList")
			g.Expect(c.PortList()).To(Equal(tc.portList), "PortList")
			for key, value := range tc.params {
				got, ok := c.Param(key)
				g.Expect(ok).To(BeTrue(), "Param(%q) is set", key)
				g.Expect(got).To(Equal(value), "Param(%q)", key)
			}
		})
	}
}

func TestParseRefusesWhatLibpqRefuses(t *testing.T) {
	for _, tc := range uriCases {
		if tc.want != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)

			c, err := connstring.Parse(tc.uri)

			g.Expect(c).To(BeNil())
			g.Expect(errors.Is(err, connstring.ErrInvalid)).To(BeTrue(), "wraps ErrInvalid")
			var perr *connstring.Error
			g.Expect(errors.As(err, &perr)).To(BeTrue(), "is an *Error")
			g.Expect(perr.Part).To(Equal(tc.part))
			g.Expect(perr.Offset).To(Equal(tc.offset()), "offset")
			g.Expect(perr.Reason).To(ContainSubstring(tc.reason))
			g.Expect(err.Error()).NotTo(ContainSubstring(password))
			if tc.uri != "" {
				g.Expect(err.Error()).NotTo(ContainSubstring(tc.uri))
			}
		})
	}
}

func TestURIRoundTrips(t *testing.T) {
	for _, tc := range uriCases {
		if tc.want == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c, err := connstring.Parse(tc.uri)
			g.Expect(err).NotTo(HaveOccurred())

			again, err := connstring.Parse(c.URI())

			g.Expect(err).NotTo(HaveOccurred(), "parsing %q", c.URI())
			g.Expect(again).To(Equal(c), "parsing %q", c.URI())
			g.Expect(onlyEncoded(c.URI())).To(BeTrue(), "%q has a byte it should have encoded", c.URI())
		})
	}
}

// onlyEncoded reports whether a URI written by URI has nothing but unreserved characters,
// percent escapes and its own delimiters.
func onlyEncoded(uri string) bool {
	rest, ok := strings.CutPrefix(uri, "postgresql://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "postgres://")
	}
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~%:@,/?&=[]", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func TestURIEncodesEveryReservedByte(t *testing.T) {
	g := NewWithT(t)
	c := &connstring.Conn{
		Scheme: "postgresql", User: "a b", Password: "p@ss/w:rd?+%&=#", HasPassword: true,
		Hosts:    []connstring.Host{{Name: "2001:db8::1", Port: "5433"}, {Name: "/tmp", Port: ""}},
		Database: "my db/x", HasDatabase: true,
		Params: []connstring.Param{{Key: "options", Value: "endpoint=ep-x"}},
	}

	g.Expect(c.URI()).To(Equal("postgresql://a%20b:p%40ss%2Fw%3Ard%3F%2B%25%26%3D%23@" +
		"[2001:db8::1]:5433,%2Ftmp/my%20db%2Fx?options=endpoint%3Dep-x"))
}

func TestURIWritesAnEmptyPasswordThatIsThere(t *testing.T) {
	g := NewWithT(t)

	c, err := connstring.Parse("postgresql://user:@h/db")

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.URI()).To(Equal("postgresql://user:@h/db"))
}

func TestStringHidesPasswords(t *testing.T) {
	g := NewWithT(t)
	c, err := connstring.Parse("postgresql://u:" + password + "@h/db?sslpassword=" + password +
		"&password=" + password + "&sslmode=require")
	g.Expect(err).NotTo(HaveOccurred())

	s := c.String()

	g.Expect(s).NotTo(ContainSubstring(password))
	g.Expect(s).To(Equal("postgresql://u:xxxxx@h/db?sslpassword=xxxxx&password=xxxxx&sslmode=require"))
}

func TestParamIsFalseForAKeywordNoParameterSets(t *testing.T) {
	g := NewWithT(t)
	c, err := connstring.Parse("postgresql://u@h/db?sslmode=require")
	g.Expect(err).NotTo(HaveOccurred())

	_, ok := c.Param("user")

	g.Expect(ok).To(BeFalse())
}

func TestKeywordsAreLibpq15s(t *testing.T) {
	g := NewWithT(t)

	kw := connstring.Keywords()

	g.Expect(kw).To(HaveLen(36))
	g.Expect(kw).To(ContainElements("host", "hostaddr", "port", "dbname", "user", "password",
		"channel_binding", "sslmode", "sslrootcert", "options", "target_session_attrs"))
	g.Expect(kw).NotTo(ContainElement("require_auth"))
}
