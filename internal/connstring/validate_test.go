package connstring_test

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// Validate is Parse without the result: the controller checks a URI with it before writing
// a Secret.
func TestValidateAgreesWithParse(t *testing.T) {
	for _, tc := range uriCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)

			err := connstring.Validate(tc.uri)

			if tc.want != nil {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(errors.Is(err, connstring.ErrInvalid)).To(BeTrue())
			g.Expect(err.Error()).NotTo(ContainSubstring(password))
		})
	}
}

func TestValidateSaysWhereTheBadCharacterIs(t *testing.T) {
	g := NewWithT(t)

	err := connstring.Validate("postgresql://u:p@h/d b")

	g.Expect(err).To(MatchError("invalid connection URI: database name at byte 20: " +
		"white space or a control character, which must be percent-encoded"))
}
