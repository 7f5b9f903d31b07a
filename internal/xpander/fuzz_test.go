package xpander

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzDecodeDatabase feeds decodeDatabase arbitrary bodies. It must never panic, must accept
// only a single JSON object with the required fields, and must fail with a message that
// quotes nothing of the body: no planted password, no quote marks (which is how
// encoding/json's own messages repeat input) and nothing but printable ASCII.
//
// The seeds are the decoding table's bodies; `go test` runs them as ordinary tests.
func FuzzDecodeDatabase(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + `"}}` + "\n"))
	f.Add([]byte(`{"id":"i","name":"n","connection_uri":{"uri":"postgresql://u:` + markerPassword + `\ud800@h"}}`))
	f.Add([]byte(`{"id":"i","name":"n","connection_uri":{"uri":"` + secretURI + "\xff\xfe" + `"}}`))
	f.Add([]byte(`{"id":"i","name":"n","ID":"` + markerPassword + `","connection_uri":{"URI":"` + secretURI + `"}}`))
	f.Add([]byte(`{"id":"i","name":"n","organization_id":1e999,"connection_uri":{"uri":"` + secretURI + `"}}`))
	f.Add([]byte(`{"id":"i","name":"n","connection_uri":{"uri":-` + markerPassword + `}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		db, err := decodeDatabase(body, http.StatusOK)

		if err == nil {
			if db == nil || db.ID == "" || db.Name == "" || db.ConnectionURI == "" {
				t.Fatalf("accepted %q as %+v, without a required field", body, db)
			}
			if !json.Valid(body) {
				t.Fatalf("accepted %q, which is not JSON", body)
			}
			return
		}

		if db != nil {
			t.Fatalf("returned %+v together with error %q", db, err)
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("error %q is not an *Error", err)
		}
		if apiErr.Kind != KindMalformed && apiErr.Kind != KindNoConnectionURI {
			t.Fatalf("error %q has kind %s", err, apiErr.Kind)
		}
		msg := err.Error()
		if strings.Contains(msg, markerPassword) {
			t.Fatalf("error %q holds the password from %q", msg, body)
		}
		if strings.ContainsAny(msg, "\"'`") {
			t.Fatalf("error %q quotes something from %q", msg, body)
		}
		for _, r := range msg {
			if r < ' ' || r > '~' {
				t.Fatalf("error %q holds %q, which no message of ours does", msg, r)
			}
		}
	})
}
