package xpander

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong with a call, so that callers can choose a retry policy without
// reading error strings.
type Kind int

const (
	// KindUnknown is never returned by this package; it is the zero value.
	KindUnknown Kind = iota
	// KindUnauthorized: the API refused the key (401 or 403). Retrying with the same key will
	// not help.
	KindUnauthorized
	// KindRateLimited: the API answered 429. Error.RetryAfter says how long to wait, when the
	// API said so.
	KindRateLimited
	// KindServerError: the API answered with a 5xx status.
	KindServerError
	// KindNetwork: the API could not be reached, or did not answer in time.
	KindNetwork
	// KindMalformed: the answer was not the documented schema, was too large, or had a
	// status the API does not document.
	KindMalformed
	// KindNoConnectionURI: the answer was well formed but held no connection URI: the
	// organization has no database to hand out yet.
	KindNoConnectionURI
)

func (k Kind) String() string {
	switch k {
	case KindUnauthorized:
		return "Unauthorized"
	case KindRateLimited:
		return "RateLimited"
	case KindServerError:
		return "ServerError"
	case KindNetwork:
		return "Network"
	case KindMalformed:
		return "Malformed"
	case KindNoConnectionURI:
		return "NoConnectionURI"
	default:
		return "Unknown"
	}
}

// Error is the only error type GetDatabase returns. Its message names what failed and never
// holds the API key, the connection URI or any part of the answer's body.
type Error struct {
	// Kind classifies the failure.
	Kind Kind
	// StatusCode is the HTTP status of the answer, or 0 when there was none.
	StatusCode int
	// RetryAfter is the wait the API asked for with a 429 answer's Retry-After header, or 0.
	RetryAfter time.Duration

	msg string
	err error
}

func (e *Error) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *Error) Unwrap() error { return e.err }

// KindOf returns the Kind of err, or KindUnknown when err is not from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

func newError(kind Kind, status int, format string, args ...any) *Error {
	return &Error{Kind: kind, StatusCode: status, msg: fmt.Sprintf(format, args...)}
}
