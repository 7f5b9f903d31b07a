//go:build libpq

package libpqref

/*
#cgo CFLAGS: -I/usr/include/postgresql
#cgo LDFLAGS: -lpq
#include <stdlib.h>
#include <libpq-fe.h>
*/
import "C"

import (
	"errors"
	"strings"
	"unsafe"
)

// ErrNUL is returned for a string holding a NUL byte, which cannot reach a C function whole.
var ErrNUL = errors.New("libpqref: the string holds a NUL byte")

// Parse runs PQconninfoParse on s and returns every option it sets (those whose value is not
// NULL), or libpq's error message. libpq's messages quote the string; they are for tests.
func Parse(s string) (map[string]string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, ErrNUL
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	var errmsg *C.char
	opts := C.PQconninfoParse(cs, &errmsg)
	if opts == nil {
		msg := "PQconninfoParse failed without a message"
		if errmsg != nil {
			msg = strings.TrimSpace(C.GoString(errmsg))
			C.PQfreemem(unsafe.Pointer(errmsg))
		}
		return nil, errors.New(msg)
	}
	defer C.PQconninfoFree(opts)
	return collect(opts), nil
}

// Keywords returns the connection keywords of the linked libpq, from PQconndefaults.
func Keywords() []string {
	opts := C.PQconndefaults()
	if opts == nil {
		return nil
	}
	defer C.PQconninfoFree(opts)
	var out []string
	for _, o := range options(opts) {
		out = append(out, C.GoString(o.keyword))
	}
	return out
}

// Version returns PQlibVersion, e.g. 150020 for 15.20.
func Version() int {
	return int(C.PQlibVersion())
}

func collect(opts *C.PQconninfoOption) map[string]string {
	m := map[string]string{}
	for _, o := range options(opts) {
		if o.val != nil {
			m[C.GoString(o.keyword)] = C.GoString(o.val)
		}
	}
	return m
}

// options turns libpq's keyword-terminated array into a slice.
func options(opts *C.PQconninfoOption) []C.PQconninfoOption {
	n := 0
	for o := opts; o.keyword != nil; n++ {
		o = (*C.PQconninfoOption)(unsafe.Add(unsafe.Pointer(o), unsafe.Sizeof(*o)))
	}
	return unsafe.Slice(opts, n)
}
