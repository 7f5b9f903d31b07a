package xpander

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// The answer's id, name and organization_id are shown in status, conditions and events.
func TestNamesThatCannotBeShownAreMalformed(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string
	}{
		{"an id of 40,000 characters", `{"id":"` + strings.Repeat("a", 40000) + `","name":"org_x","connection_uri":{"uri":"postgresql://u:p@h/db"}}`, "field id is longer than 253 bytes"},
		{"a name with a NUL", `{"id":"a","name":"org\u0000x","connection_uri":{"uri":"postgresql://u:p@h/db"}}`, "field name holds characters that are not printable"},
		{"an organization id with a line break", `{"id":"a","name":"org_x","organization_id":"x\ny","connection_uri":{"uri":"postgresql://u:p@h/db"}}`, "field organization_id holds characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := decodeDatabase([]byte(tc.body), 200)
			g.Expect(KindOf(err)).To(Equal(KindMalformed))
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}
