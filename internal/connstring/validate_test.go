package connstring_test

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// password is planted in every rejected URI; an error that holds it leaked the URI.
const password = "SECRETPW"

func TestValidateAccepts(t *testing.T) {
	cases := map[string]string{
		"a Neon URI as the API hands it out": "postgresql://user:password@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/" +
			"xpander?channel_binding=require&sslmode=require",
		"a Neon pooler URI":                      "postgresql://user:password@ep-proud-credit-af01jccy-pooler.c-2.us-west-2.aws.neon.tech/xpander?sslmode=require",
		"the short postgres scheme":              "postgres://user:password@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/xpander",
		"an IPv6 host with a port":               "postgresql://u:p@[2001:db8::1234]:5433/db",
		"a percent-encoded password":             "postgresql://u:p%40ss%2Fw%3Ard@h/db",
		"the reference's placeholder example":    "postgresql://<user>:<password>@<host>/<database>?sslmode=require",
		"a host alone":                           "postgresql://localhost",
		"several hosts, as libpq allows":         "postgresql://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write",
		"a password with non-ASCII letters":      "postgresql://u:pässwörd@h/db",
		"a URI with only parameters after //":    "postgresql:///db?host=/var/run/postgresql",
		"a password with every printable symbol": "postgresql://u:!$&'()*+,;=~-._@h/db",
	}
	for name, uri := range cases {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(connstring.Validate(uri)).To(Succeed())
		})
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]struct {
		uri     string
		mention string
	}{
		"a MySQL URI": {"mysql://u:" + password + "@h/db", "scheme"},
		"an HTTP URL": {"http://u:" + password + "@h/db", "scheme"},
		"a JDBC URL":  {"jdbc:postgresql://u:" + password + "@h/db", "scheme"},
		"an upper-case scheme, which libpq does not match": {"POSTGRESQL://u:" + password + "@h/db", "scheme"},
		"a capitalised short scheme":                       {"Postgres://u:" + password + "@h/db", "scheme"},
		"a scheme with one slash":                          {"postgresql:/u:" + password + "@h/db", "scheme"},
		"a scheme without slashes":                         {"postgresql:u:" + password + "@h/db", "scheme"},
		"a keyword/value string":                           {"host=h user=u password=" + password + " dbname=db", "scheme"},
		"an empty string":                                  {"", "scheme"},
		"the scheme alone":                                 {"postgresql://", "nothing follows"},
		"the short scheme alone":                           {"postgres://", "nothing follows"},
		"a space before the scheme":                        {" postgresql://u:" + password + "@h/db", "scheme"},
		"a space in the password":                          {"postgresql://u:" + password + " x@h/db", "white space"},
		"a trailing newline":                               {"postgresql://u:" + password + "@h/db\n", "white space"},
		"a carriage return inside":                         {"postgresql://u:" + password + "\r@h/db", "white space"},
		"a tab inside":                                     {"postgresql://u:" + password + "@h/db\t?x=1", "white space"},
		"a NUL byte inside":                                {"postgresql://u:" + password + "\x00@h/db", "control character"},
		"a DEL character inside":                           {"postgresql://u:" + password + "\x7f@h/db", "control character"},
		"an escape character inside":                       {"postgresql://u:" + password + "\x1b[0m@h/db", "control character"},
		"a C1 control character inside":                    {"postgresql://u:" + password + "\u0085@h/db", "control character"},
		"a no-break space inside":                          {"postgresql://u:" + password + "\u00a0@h/db", "white space"},
		"a line separator inside":                          {"postgresql://u:" + password + "\u2028@h/db", "white space"},
		"an ideographic space inside":                      {"postgresql://u:" + password + "\u3000@h/db", "white space"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)

			err := connstring.Validate(tc.uri)

			g.Expect(err).To(HaveOccurred())
			g.Expect(errors.Is(err, connstring.ErrInvalid)).To(BeTrue())
			g.Expect(err.Error()).To(ContainSubstring(tc.mention))
			g.Expect(err.Error()).NotTo(ContainSubstring(password))
			if tc.uri != "" {
				g.Expect(err.Error()).NotTo(ContainSubstring(tc.uri))
			}
		})
	}
}

func TestValidateSaysWhereTheBadCharacterIs(t *testing.T) {
	g := NewWithT(t)

	err := connstring.Validate("postgresql://u:p@h/d b")

	g.Expect(err).To(MatchError(ContainSubstring("at byte 20")))
}
