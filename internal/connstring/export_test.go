package connstring

// For the tests of package connstring_test: the fixed vocabulary of errors, and which
// reasons are refusals libpq's parser does not share.
var (
	Reasons    = reasons
	Parts      = parts
	Deliberate = []string{reasonScheme, reasonSpace, reasonPortValue, reasonPortCount, reasonAddrCount}
	Escape     = escape
)
