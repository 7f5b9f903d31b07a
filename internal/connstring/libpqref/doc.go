// Package libpqref calls libpq's own connection string parser, PQconninfoParse, so that
// tests can hold connstring's parser against it. It needs cgo and libpq's headers and
// library (Debian's libpq-dev), and is built only with the libpq build tag:
//
//	go test -tags libpq ./internal/connstring/...
package libpqref
