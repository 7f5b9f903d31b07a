package connstring

// keywords are the connection keywords of libpq 15, in the order PQconndefaults lists them.
// A URI's query may set any of them. The conformance test compares this list with the one
// the installed libpq reports.
//
// NOTE: keywords that later libpq releases added (require_auth, sslcertmode,
// load_balance_hosts and gssdelegation in 16, sslnegotiation in 17, ...) are refused, as
// libpq 15 refuses them: a URI carrying one would fail in every client built on libpq 15,
// which is what Debian 12 ships.
var keywords = []string{
	"service",
	"user",
	"password",
	"passfile",
	"channel_binding",
	"connect_timeout",
	"dbname",
	"host",
	"hostaddr",
	"port",
	"client_encoding",
	"options",
	"application_name",
	"fallback_application_name",
	"keepalives",
	"keepalives_idle",
	"keepalives_interval",
	"keepalives_count",
	"tcp_user_timeout",
	"sslmode",
	"sslcompression",
	"sslcert",
	"sslkey",
	"sslpassword",
	"sslrootcert",
	"sslcrl",
	"sslcrldir",
	"sslsni",
	"requirepeer",
	"ssl_min_protocol_version",
	"ssl_max_protocol_version",
	"gssencmode",
	"krbsrvname",
	"gsslib",
	"replication",
	"target_session_attrs",
}

// Keywords returns libpq 15's connection keywords, which a URI's query may set, in libpq's
// order. Besides these, a query may say ssl=true or requiressl=..., which libpq reads as
// sslmode.
func Keywords() []string {
	return append([]string(nil), keywords...)
}

func isKeyword(k string) bool {
	for _, kw := range keywords {
		if kw == k {
			return true
		}
	}
	return false
}

// alias maps the two spellings libpq rewrites before storing a query parameter: ssl=true
// (for JDBC's sake) becomes sslmode=require, and the old requiressl becomes sslmode=require
// when its value starts with 1 and sslmode=prefer otherwise. ok is false when key is neither
// one of these nor a keyword, which libpq refuses.
func alias(key, value string) (k, v string, ok bool) {
	switch {
	case key == "ssl" && value == "true":
		return "sslmode", "require", true
	case key == "requiressl":
		if value != "" && value[0] == '1' {
			return "sslmode", "require", true
		}
		return "sslmode", "prefer", true
	case isKeyword(key):
		return key, value, true
	}
	return "", "", false
}
