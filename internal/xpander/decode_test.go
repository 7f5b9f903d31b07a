package xpander

import (
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// Markers planted in keys, passwords and bodies. No message this package writes contains
// them, so finding one in an error means a secret or a piece of the answer leaked into it.
const (
	markerKey      = "KEYMARK7q"
	markerPassword = "SECRETPW"
	markerBody     = "BODYMARK"
)

// neonURI is a connection URI in the form Neon hands out.
const neonURI = "postgresql://user:password@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/" +
	"xpander?channel_binding=require&sslmode=require"

// secretURI is the URI used by answers that must fail: its password is a marker.
const secretURI = "postgresql://u:" + markerPassword + "@h/db"

// documentedAnswer is the reference's example answer, placeholders and all.
const documentedAnswer = `{
  "id": "still-meadow-47437464",
  "name": "org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
  "organization_id": "<org-id>",
  "connection_uri": {
    "uri": "postgresql://<user>:<password>@<host>/<database>?sslmode=require"
  }
}`

const neonAnswer = `{"id": "still-meadow-47437464", "name": "org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
 "organization_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
 "connection_uri": {"uri": "` + neonURI + `"}}`

// decodeCase is one answer body and what decoding it must give. The same cases seed
// FuzzDecodeDatabase and are replayed over the wire against the stand-in.
type decodeCase struct {
	name string
	body string
	// want is the decoded answer; nil when decoding must fail with kind.
	want *Database
	kind Kind
	// mention is a phrase the error must hold, so that a user can tell what was wrong.
	mention string
}

func neonDatabase(orgID string) *Database {
	return &Database{
		ID:             "still-meadow-47437464",
		Name:           "org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
		OrganizationID: orgID,
		ConnectionURI:  neonURI,
	}
}

var decodeCases = []decodeCase{
	{
		name: "the reference's example answer decodes to its fields",
		body: documentedAnswer,
		want: &Database{
			ID:             "still-meadow-47437464",
			Name:           "org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
			OrganizationID: "<org-id>",
			ConnectionURI:  "postgresql://<user>:<password>@<host>/<database>?sslmode=require",
		},
	},
	{
		name: "a Neon answer keeps its URI byte for byte",
		body: neonAnswer,
		want: neonDatabase("f47ac10b-58cc-4372-a567-0e02b2c3d479"),
	},
	{
		name: "a URI with JSON escapes decodes to the characters they stand for",
		body: `{"id":"i","name":"n","connection_uri":{"uri":"postgresql:\/\/u:p\u0040x@h\/db?a=1\u0026b=2"}}`,
		want: &Database{ID: "i", Name: "n", ConnectionURI: "postgresql://u:p@x@h/db?a=1&b=2"},
	},
	{
		name: "a percent-encoded password is not unescaped",
		body: `{"id":"i","name":"n","connection_uri":{"uri":"postgresql://u:p%40ss%2Fw%3Ard@h/db"}}`,
		want: &Database{ID: "i", Name: "n", ConnectionURI: "postgresql://u:p%40ss%2Fw%3Ard@h/db"},
	},
	{
		name: "a null organization_id leaves the organization unknown",
		body: `{"id":"still-meadow-47437464","name":"org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
			"organization_id":null,"connection_uri":{"uri":"` + neonURI + `"}}`,
		want: neonDatabase(""),
	},
	{
		name: "an absent organization_id leaves the organization unknown",
		body: `{"id":"still-meadow-47437464","name":"org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
			"connection_uri":{"uri":"` + neonURI + `"}}`,
		want: neonDatabase(""),
	},
	{
		name: "unknown extra fields are tolerated",
		body: `{"id":"still-meadow-47437464","name":"org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
			"region":"aws-us-west-2","created_at":12,"tags":["a",{"b":null}],"organization_id":null,
			"connection_uri":{"uri":"` + neonURI + `","pooled":true,"extra":{"x":[1,2]}}}`,
		want: neonDatabase(""),
	},
	{
		name: "white space around the object is tolerated",
		body: "\r\n\t " + neonAnswer + "\n\n",
		want: neonDatabase("f47ac10b-58cc-4372-a567-0e02b2c3d479"),
	},

	// No connection URI yet: well formed, but nothing to hand out.
	{
		name:    "a null connection_uri means there is no connection URI yet",
		body:    `{"id":"i","name":"n","organization_id":"o","connection_uri":null}`,
		kind:    KindNoConnectionURI,
		mention: "no connection URI",
	},
	{
		name:    "an absent connection_uri means there is no connection URI yet",
		body:    `{"id":"i","name":"n","organization_id":"o"}`,
		kind:    KindNoConnectionURI,
		mention: "no connection URI",
	},
	{
		name: "a connection_uri without uri means there is no connection URI yet",
		body: `{"id":"i","name":"n","connection_uri":{}}`,
		kind: KindNoConnectionURI,
	},
	{
		name: "a null uri means there is no connection URI yet",
		body: `{"id":"i","name":"n","connection_uri":{"uri":null}}`,
		kind: KindNoConnectionURI,
	},
	{
		name: "an empty uri means there is no connection URI yet",
		body: `{"id":"i","name":"n","connection_uri":{"uri":""}}`,
		kind: KindNoConnectionURI,
	},

	// Missing or empty identity.
	{
		name:    "an answer without id is malformed",
		body:    `{"name":"n","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field id is missing or empty",
	},
	{
		name:    "an answer with an empty id is malformed",
		body:    `{"id":"","name":"n","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field id is missing or empty",
	},
	{
		name:    "an answer with a null id is malformed",
		body:    `{"id":null,"name":"n","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field id is missing or empty",
	},
	{
		name:    "an answer without name is malformed",
		body:    `{"id":"i","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field name is missing or empty",
	},
	{
		name:    "an answer with an empty name is malformed",
		body:    `{"id":"i","name":"","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field name is missing or empty",
	},
	{
		name:    "an answer without id is malformed even when it has no connection URI",
		body:    `{"name":"n","connection_uri":null}`,
		kind:    KindMalformed,
		mention: "field id",
	},

	// Wrong types.
	{
		name:    "an id that is a number is malformed",
		body:    `{"id":47437464,"name":"n","connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field id is a JSON number, not a string",
	},
	{
		name:    "a name that is a number is malformed and the URI after it stays out of the error",
		body:    `{"id": "x", "name": 12, "connection_uri": {"uri": "postgresql://u:SECRETPW@h/db"}}`,
		kind:    KindMalformed,
		mention: "field name is a JSON number, not a string",
	},
	{
		name:    "a connection_uri that is a string is malformed",
		body:    `{"id":"i","name":"n","connection_uri":"` + secretURI + `"}`,
		kind:    KindMalformed,
		mention: "field connection_uri is a JSON string, not an object",
	},
	{
		name:    "a connection_uri that is an array is malformed",
		body:    `{"id":"i","name":"n","connection_uri":["` + secretURI + `"]}`,
		kind:    KindMalformed,
		mention: "field connection_uri is a JSON array, not an object",
	},
	{
		name:    "a uri that is an object is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":{"value":"` + secretURI + `"}}}`,
		kind:    KindMalformed,
		mention: "field connection_uri.uri is a JSON object, not a string",
	},
	{
		name:    "an organization_id that is a boolean is malformed",
		body:    `{"id":"i","name":"n","organization_id":true,"connection_uri":{"uri":"` + secretURI + `"}}`,
		kind:    KindMalformed,
		mention: "field organization_id is a JSON bool, not a string",
	},

	// Not a JSON object at all.
	{
		name:    "an HTML page is malformed",
		body:    "<!DOCTYPE html><html><title>" + markerBody + " gateway</title></html>",
		kind:    KindMalformed,
		mention: "not a JSON object",
	},
	{
		name:    "an empty body is malformed",
		body:    "",
		kind:    KindMalformed,
		mention: "empty body",
	},
	{
		name:    "a body of white space is malformed",
		body:    " \r\n\t ",
		kind:    KindMalformed,
		mention: "empty body",
	},
	{
		name:    "a JSON array is malformed",
		body:    `[{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}}]`,
		kind:    KindMalformed,
		mention: "not a JSON object",
	},
	{
		name:    "a top-level null is malformed",
		body:    "null",
		kind:    KindMalformed,
		mention: "not a JSON object",
	},
	{
		name:    "a top-level string is malformed",
		body:    `"` + secretURI + `"`,
		kind:    KindMalformed,
		mention: "not a JSON object",
	},

	// Broken JSON.
	{
		name:    "data after the object is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}} ` + markerBody,
		kind:    KindMalformed,
		mention: "data after the JSON object",
	},
	{
		name:    "a second object after the first is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}}{"id":"` + markerBody + `"}`,
		kind:    KindMalformed,
		mention: "data after the JSON object",
	},
	{
		name:    "a stray closing brace after the object is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}}}`,
		kind:    KindMalformed,
		mention: "data after the JSON object",
	},
	{
		name:    "a stray closing bracket after the object is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}}]`,
		kind:    KindMalformed,
		mention: "data after the JSON object",
	},
	{
		name:    "a syntax error right after the password is malformed and keeps the password out",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"postgresql://u:` + markerPassword + `x"@h/db"}}`,
		kind:    KindMalformed,
		mention: "invalid JSON at byte",
	},
	{
		name:    "a bad escape inside the password is malformed and keeps the password out",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"postgresql://u:` + markerPassword + `\q@h/db"}}`,
		kind:    KindMalformed,
		mention: "invalid JSON at byte",
	},
	{
		name:    "a control character inside the password is malformed and keeps the password out",
		body:    "{\"id\":\"i\",\"name\":\"n\",\"connection_uri\":{\"uri\":\"postgresql://u:" + markerPassword + "\x01@h\"}}",
		kind:    KindMalformed,
		mention: "invalid JSON at byte",
	},
	{
		name:    "an answer cut short after the password is malformed",
		body:    `{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI,
		kind:    KindMalformed,
		mention: "JSON ends early",
	},
	{
		name:    "an unquoted key naming the password is malformed",
		body:    `{"id":"i","name":"n",` + markerPassword + `:1}`,
		kind:    KindMalformed,
		mention: "invalid JSON at byte",
	},
}

func TestDecodeDatabase(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)

			db, err := decodeDatabase([]byte(tc.body), http.StatusOK)

			if tc.want != nil {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(db).To(Equal(tc.want))
				return
			}
			g.Expect(db).To(BeNil())
			g.Expect(err).To(HaveOccurred())
			g.Expect(KindOf(err)).To(Equal(tc.kind))
			g.Expect(err).To(BeAssignableToTypeOf(&Error{}))
			g.Expect(err.(*Error).StatusCode).To(Equal(http.StatusOK))
			if tc.mention != "" {
				g.Expect(err.Error()).To(ContainSubstring(tc.mention))
			}
			expectNoSecrets(g, err, tc.body)
		})
	}
}

// expectNoSecrets checks that err holds none of the planted markers, no connection URI and
// not the whole of body.
func expectNoSecrets(g Gomega, err error, body string) {
	msg := err.Error()
	for _, secret := range []string{markerKey, markerPassword, markerBody, "postgresql://", "postgres://", neonURI} {
		g.Expect(msg).NotTo(ContainSubstring(secret))
	}
	if body = strings.TrimSpace(body); body != "" {
		g.Expect(msg).NotTo(ContainSubstring(body))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

	cases := map[string]struct {
		value string
		want  time.Duration
	}{
		"no header means no known wait":                     {"", 0},
		"a delay in seconds is that many seconds":           {"120", 2 * time.Minute},
		"a delay with white space around it is read":        {" 7\t", 7 * time.Second},
		"a delay of zero seconds means no wait":             {"0", 0},
		"a negative delay is not a delay":                   {"-5", 0},
		"a signed delay is not the RFC's digits":            {"+5", 0},
		"a fractional delay is not a delay":                 {"1.5", 0},
		"a word is not a delay":                             {"soon", 0},
		"a delay longer than a day is capped at a day":      {"100000", 24 * time.Hour},
		"a delay too large for an int64 is capped at a day": {"99999999999999999999", 24 * time.Hour},
		"an IMF-fixdate is the time until then": {
			now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second,
		},
		"an RFC 850 date is the time until then": {
			now.Add(time.Hour).Format(time.RFC850), time.Hour,
		},
		"an asctime date is the time until then": {
			now.Add(45 * time.Second).Format(time.ANSIC), 45 * time.Second,
		},
		"a date in the past means no wait": {
			now.Add(-time.Minute).Format(http.TimeFormat), 0,
		},
		"a date of now means no wait": {
			now.Format(http.TimeFormat), 0,
		},
		"a date more than a day ahead is capped at a day": {
			now.Add(72 * time.Hour).Format(http.TimeFormat), 24 * time.Hour,
		},
		"a date in the year 9999 is capped at a day": {
			"Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour,
		},
		"a date in a non-GMT zone is not an HTTP-date": {
			now.Add(time.Minute).Format(time.RFC1123Z), 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(parseRetryAfter(tc.value, now)).To(Equal(tc.want))
		})
	}
}
