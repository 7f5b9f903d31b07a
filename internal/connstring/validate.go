// Package connstring checks the PostgreSQL connection URIs the xpander API hands out before
// they reach a Secret.
package connstring

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid connection URI")

// Validate reports whether uri is a connection URI that PostgreSQL clients accept: the
// postgresql:// or postgres:// scheme libpq recognises (case-sensitively, as libpq does),
// followed by something, with no white space or control characters anywhere. Its errors
// describe the problem without quoting the URI, which carries a password.
//
// NOTE: this is the scheme-level check; it does not yet parse hosts, ports and parameters
// the way libpq does.
func Validate(uri string) error {
	rest, ok := strings.CutPrefix(uri, "postgresql://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "postgres://")
	}
	switch {
	case !ok:
		return invalid("scheme is not postgresql:// or postgres://")
	case rest == "":
		return invalid("nothing follows the scheme")
	}
	for i, r := range uri {
		// Beyond ASCII too: a no-break space or a C1 control is as invisible in a Secret as
		// a space, and libpq would take it as part of the password or host.
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalid(fmt.Sprintf("white space or a control character at byte %d", i))
		}
	}
	return nil
}

func invalid(why string) error {
	return &validationError{why: why}
}

type validationError struct{ why string }

func (e *validationError) Error() string { return ErrInvalid.Error() + ": " + e.why }
func (e *validationError) Unwrap() error { return ErrInvalid }
