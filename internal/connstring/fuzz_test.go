package connstring_test

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// FuzzParse feeds Parse arbitrary strings. It must never panic; a refusal must be an *Error
// built only from the fixed parts and reasons, so that it holds no password; and a URI it
// accepts must come back the same through URI, with String hiding the password.
//
// The seeds are the table's URIs and testdata/fuzz/FuzzParse; `go test` runs them as
// ordinary tests.
func FuzzParse(f *testing.F) {
	for _, tc := range uriCases {
		f.Add(tc.uri)
	}
	f.Add("postgresql://u:" + password + "@[::1]:5432,h:1/db?host=a,b&port=1,2&hostaddr=1.2.3.4,5.6.7.8")
	f.Add("postgresql://:" + password + "@/?password=&dbname=&user=")
	f.Add("postgres://%E2%82%AC:%C3%A4@[fe80::1%25eth0]/%2F?options=%25")

	f.Fuzz(func(t *testing.T, uri string) {
		c, err := connstring.Parse(uri)
		if err != nil {
			checkRefusal(t, uri, c, err)
			return
		}
		checkRoundTrip(t, uri, c)
	})
}

func checkRefusal(t *testing.T, uri string, c *connstring.Conn, err error) {
	t.Helper()
	if c != nil {
		t.Fatalf("Parse(%q) returned %+v with error %q", uri, c, err)
	}
	if !errors.Is(err, connstring.ErrInvalid) {
		t.Fatalf("Parse(%q): error %q does not wrap ErrInvalid", uri, err)
	}
	var perr *connstring.Error
	if !errors.As(err, &perr) {
		t.Fatalf("Parse(%q): error %q is not an *Error", uri, err)
	}
	if !slices.Contains(connstring.Parts, perr.Part) || !slices.Contains(connstring.Reasons, perr.Reason) {
		t.Fatalf("Parse(%q): error %q names a part or reason outside the fixed set", uri, err)
	}
	if perr.Offset < 0 || perr.Offset > len(uri) {
		t.Fatalf("Parse(%q): error %q points outside the URI", uri, err)
	}
	msg := err.Error()
	if want := "invalid connection URI: " + perr.Part + " at byte " + strconv.Itoa(perr.Offset) +
		": " + perr.Reason; msg != want {
		t.Fatalf("Parse(%q): error %q is not %q", uri, msg, want)
	}
	vocabulary := strings.Join(append(slices.Clone(connstring.Parts), connstring.Reasons...), " ") +
		" invalid connection URI at byte 0123456789"
	for _, pw := range recognisablePasswords(uri) {
		if len(pw) >= 4 && strings.Contains(msg, pw) && !strings.Contains(vocabulary, pw) {
			t.Fatalf("Parse(%q): error %q holds the password %q", uri, msg, pw)
		}
	}
}

// recognisablePasswords finds the password of a URI by libpq's rule, as written and as far
// as it decodes, plus the value of any password parameter.
func recognisablePasswords(uri string) []string {
	var out []string
	for _, scheme := range []string{"postgresql://", "postgres://"} {
		rest, ok := strings.CutPrefix(uri, scheme)
		if !ok {
			continue
		}
		if at := strings.IndexAny(rest, "@/"); at >= 0 && rest[at] == '@' {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				out = append(out, pw, lenientDecode(pw))
			}
		}
		break
	}
	for _, pair := range strings.Split(uri, "&") {
		if _, v, ok := strings.Cut(pair, "password="); ok {
			out = append(out, v, lenientDecode(v))
		}
	}
	return out
}

// lenientDecode decodes what percent escapes it can and keeps the rest as it is.
func lenientDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func checkRoundTrip(t *testing.T, uri string, c *connstring.Conn) {
	t.Helper()
	written := c.URI()
	again, err := connstring.Parse(written)
	if err != nil {
		t.Fatalf("Parse(%q) gives %+v, whose URI %q does not parse: %v", uri, c, written, err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("Parse(%q) gives %+v, but its URI %q gives %+v", uri, c, written, again)
	}
	if !onlyEncoded(written) {
		t.Fatalf("URI %q of %q leaves a byte unencoded", written, uri)
	}

	// String must not show a password, unless the rest of the URI holds the same text.
	if pw := connstring.Escape(c.Password); len(pw) >= 4 {
		bare := *c
		bare.Password = ""
		bare.Params = nil
		for _, p := range c.Params {
			if p.Key != "password" && p.Key != "sslpassword" {
				bare.Params = append(bare.Params, p)
			}
		}
		if shown := c.String(); strings.Contains(shown, pw) && !strings.Contains(bare.URI(), pw) &&
			!strings.Contains("xxxxx", pw) {
			t.Fatalf("String of %q shows the password: %q", uri, shown)
		}
	}
}
