package connstring

import (
	"errors"
	"strconv"
)

// ErrInvalid is wrapped by every error Parse and Validate return.
var ErrInvalid = errors.New("invalid connection URI")

// Error says why Parse refused a URI: which part, where, and what is wrong. It is built
// only from fixed words and a byte offset, never from the URI's text, so it can go into a
// log line, an event or a condition message without carrying the password.
type Error struct {
	// Part names the part of the URI at fault, one of the Part constants.
	Part string
	// Offset is the 0-based byte offset in the URI where the fault starts.
	Offset int
	// Reason says what is wrong, one of a fixed set of phrases.
	Reason string
}

func (e *Error) Error() string {
	return ErrInvalid.Error() + ": " + e.Part + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Unwrap() error { return ErrInvalid }

// The parts an Error can name.
const (
	PartScheme     = "scheme"
	PartUser       = "user name"
	PartPassword   = "password"
	PartHost       = "host"
	PartPort       = "port"
	PartHostList   = "host list"
	PartDatabase   = "database name"
	PartParamName  = "query parameter name"
	PartParamValue = "query parameter value"
	PartParam      = "query parameter"
)

// The reasons an Error can give. The first group is what libpq's own URI parser refuses;
// the second is what libpq accepts while parsing but fails on when it connects, or what
// this package refuses on purpose (see the package documentation).
const (
	reasonScheme       = "the URI does not start with postgresql:// or postgres://"
	reasonPercent      = "a % is not followed by two hexadecimal digits"
	reasonNUL          = "%00 would put a NUL byte in the value, which libpq refuses"
	reasonUnclosed     = "an IPv6 address opened with [ has no closing ]"
	reasonEmptyIPv6    = "the brackets of an IPv6 address are empty"
	reasonAfterBracket = "an IPv6 address in brackets is followed by something other than :, /, ? or ,"
	reasonNoEquals     = "the parameter has no ="
	reasonTwoEquals    = "the parameter has a second ="
	reasonKeyword      = "the parameter is not a libpq 15 connection keyword"

	reasonSpace     = "white space or a control character, which must be percent-encoded"
	reasonPortValue = "the port is not a decimal number from 1 to 65535"
	reasonPortCount = "the number of ports is neither 1 nor the number of hosts"
	reasonAddrCount = "the number of host names differs from the number of hostaddr values"
)

// reasons lists every reason, for tests that check an error quotes nothing else.
var reasons = []string{
	reasonScheme, reasonPercent, reasonNUL, reasonUnclosed, reasonEmptyIPv6, reasonAfterBracket,
	reasonNoEquals, reasonTwoEquals, reasonKeyword,
	reasonSpace, reasonPortValue, reasonPortCount, reasonAddrCount,
}

// parts lists every part, for the same tests.
var parts = []string{
	PartScheme, PartUser, PartPassword, PartHost, PartPort, PartHostList, PartDatabase,
	PartParamName, PartParamValue, PartParam,
}

func fail(part string, offset int, reason string) *Error {
	return &Error{Part: part, Offset: offset, Reason: reason}
}
