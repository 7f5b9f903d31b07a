package connstring_test

import (
	"strings"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// uriCase is one row of the table that the unit tests check on their own and the libpq
// conformance test (build tag libpq) also holds against libpq's PQconninfoParse.
type uriCase struct {
	name string
	uri  string

	// want is the parsed connection, with HostList and PortList below; nil when Parse must
	// refuse the URI.
	want               *connstring.Conn
	hostList, portList string
	// params are the values Param reports, where they differ from Params (aliases, repeats).
	params map[string]string

	// part, at and reason describe the refusal: the Error's Part, the text its Offset points
	// at (the first occurrence in uri), and a fragment of its Reason.
	part, at, reason string
	// libpqAccepts marks a refusal that libpq does not share, one the package
	// documentation lists as deliberate.
	libpqAccepts bool
}

// offset is where the case's error must point: the first occurrence of at in the URI.
func (tc uriCase) offset() int {
	return strings.Index(tc.uri, tc.at)
}

// password is planted in the URIs that must be refused; an error holding it leaked the URI.
const password = "SECRETPW"

const (
	neonHost   = "ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech"
	poolerHost = "ep-proud-credit-af01jccy-pooler.c-2.us-west-2.aws.neon.tech"
)

func hosts(hs ...string) []connstring.Host {
	var out []connstring.Host
	for _, h := range hs {
		name, port, _ := strings.Cut(h, "|")
		out = append(out, connstring.Host{Name: name, Port: port})
	}
	return out
}

func params(kv ...string) []connstring.Param {
	var out []connstring.Param
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, connstring.Param{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

var uriCases = []uriCase{
	// What the xpander API hands out.
	{
		name: "a Neon URI as the API hands it out",
		uri: "postgresql://user:password@" + neonHost +
			"/xpander?channel_binding=require&sslmode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "user", Password: "password", HasPassword: true,
			Hosts: hosts(neonHost), Database: "xpander", HasDatabase: true,
			Params: params("channel_binding", "require", "sslmode", "require"),
		},
		hostList: neonHost, portList: "5432",
	},
	{
		name: "a Neon pooler host is kept as it is",
		uri:  "postgresql://user:password@" + poolerHost + "/xpander?sslmode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "user", Password: "password", HasPassword: true,
			Hosts: hosts(poolerHost), Database: "xpander", HasDatabase: true,
			Params: params("sslmode", "require"),
		},
		hostList: poolerHost, portList: "5432",
	},
	{
		name: "Neon's endpoint option is decoded to endpoint=",
		uri: "postgresql://user:password@" + neonHost +
			"/xpander?sslmode=require&options=endpoint%3Dep-proud-credit-af01jccy",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "user", Password: "password", HasPassword: true,
			Hosts: hosts(neonHost), Database: "xpander", HasDatabase: true,
			Params: params("sslmode", "require", "options", "endpoint=ep-proud-credit-af01jccy"),
		},
		hostList: neonHost, portList: "5432",
	},
	{
		name: "the short postgres scheme is kept as written",
		uri:  "postgres://u:pw@h/db",
		want: &connstring.Conn{
			Scheme: "postgres", User: "u", Password: "pw", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},

	// User information.
	{
		name: "a password with an encoded @ and / and a raw colon",
		uri:  "postgresql://u:p%40ss%2Fw:rd@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p@ss/w:rd", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a raw ? and : stay in the password, since only @ and / end the user information",
		uri:  "postgresql://u:a:b?c@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "a:b?c", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a raw / in the password ends the user information, leaving a host and a port",
		uri:  "postgresql://admin:5432/x@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("admin|5432"),
			Database: "x@h/db", HasDatabase: true,
		},
		hostList: "admin", portList: "5432",
	},
	{
		name: "the first @ ends the user information and a later one belongs to the host",
		uri:  "postgresql://u:p@h@x/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p", HasPassword: true,
			Hosts: hosts("h@x"), Database: "db", HasDatabase: true,
		},
		hostList: "h@x", portList: "5432",
	},
	{
		name: "an empty password is present",
		uri:  "postgresql://user:@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "user", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a user without a password",
		uri:  "postgresql://user@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "user", Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "an empty user information",
		uri:  "postgresql://@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a + in the password stays a plus",
		uri:  "postgresql://u:a+b@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "a+b", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "%2B in the password decodes to a plus",
		uri:  "postgresql://u:a%2Bb@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "a+b", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "percent-encoded UTF-8 in the password and the database",
		uri:  "postgresql://u:p%C3%A4ss%E2%82%AC@h/d%C3%B6b",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "päss€", HasPassword: true,
			Hosts: hosts("h"), Database: "döb", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "lower-case hexadecimal digits",
		uri:  "postgresql://u:%e2%82%ac@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "€", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "raw non-ASCII letters in the password",
		uri:  "postgresql://u:pässwörd@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "pässwörd", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a password with every printable symbol libpq leaves alone",
		uri:  "postgresql://u:!$&'()*+,;=~-._@h/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "!$&'()*+,;=~-._", HasPassword: true,
			Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},

	// Hosts and ports.
	{
		name: "an IPv6 host with a port",
		uri:  "postgresql://u:p@[2001:db8::1234]:5433/db",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p", HasPassword: true,
			Hosts: hosts("2001:db8::1234|5433"), Database: "db", HasDatabase: true,
		},
		hostList: "2001:db8::1234", portList: "5433",
	},
	{
		name: "an IPv6 host with an encoded zone",
		uri:  "postgresql://[fe80::1%25eth0]/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("fe80::1%eth0"), Database: "db", HasDatabase: true,
		},
		hostList: "fe80::1%eth0", portList: "5432",
	},
	{
		name: "brackets around a name that is no IPv6 address",
		uri:  "postgresql://[localhost]:5432/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("localhost|5432"), Database: "db", HasDatabase: true,
		},
		hostList: "localhost", portList: "5432",
	},
	{
		name: "a host list with mixed ports",
		uri:  "postgresql://u:p@h1:5432,h2,h3:5434/db?target_session_attrs=read-write",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p", HasPassword: true,
			Hosts: hosts("h1|5432", "h2", "h3|5434"), Database: "db", HasDatabase: true,
			Params: params("target_session_attrs", "read-write"),
		},
		hostList: "h1,h2,h3", portList: "5432,5432,5434",
	},
	{
		name: "a host list mixing IPv6, a name and IPv4",
		uri:  "postgresql://[2001:db8::1]:5433,db.example.com,192.0.2.5:6432/app",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("2001:db8::1|5433", "db.example.com", "192.0.2.5|6432"),
			Database: "app", HasDatabase: true,
		},
		hostList: "2001:db8::1,db.example.com,192.0.2.5", portList: "5433,5432,6432",
	},
	{
		name: "an empty entry in a host list is libpq's default host",
		uri:  "postgresql://a,,b/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("a", "", "b"), Database: "db", HasDatabase: true,
		},
		hostList: "a,,b", portList: "5432,5432,5432",
	},
	{
		name: "an encoded comma in a host name separates hosts once libpq splits the list",
		uri:  "postgresql://a%2Cb:5433/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("a|5433", "b|5433"), Database: "db", HasDatabase: true,
		},
		hostList: "a,b", portList: "5433,5433",
	},
	{
		name: "a colon with no port after it",
		uri:  "postgresql://h:/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a port with a leading zero",
		uri:  "postgresql://h:05432/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h|05432"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "05432",
	},
	{
		name: "a port without a host",
		uri:  "postgresql://:5433/db",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("|5433"), Database: "db", HasDatabase: true,
		},
		hostList: "", portList: "5433",
	},
	{
		name: "an encoded socket directory as the host",
		uri:  "postgresql://%2Fvar%2Flib%2Fpostgresql/dbname",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("/var/lib/postgresql"), Database: "dbname", HasDatabase: true,
		},
		hostList: "/var/lib/postgresql", portList: "5432",
	},
	{
		name: "the scheme alone, which libpq reads as every default",
		uri:  "postgresql://",
		want: &connstring.Conn{Scheme: "postgresql"},
	},
	{
		name: "a colon alone names no host and no port",
		uri:  "postgresql://:/db",
		want: &connstring.Conn{Scheme: "postgresql", Database: "db", HasDatabase: true},
	},

	// Database.
	{
		name: "no path means no database",
		uri:  "postgresql://u:p@h",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p", HasPassword: true, Hosts: hosts("h"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a slash alone means no database",
		uri:  "postgresql://u:p@h/",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Password: "p", HasPassword: true, Hosts: hosts("h"),
		},
		hostList: "h", portList: "5432",
	},

	// Query.
	{
		name: "the query sets host and port when the URI has no host",
		uri:  "postgresql:///mydb?host=localhost&port=5433",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("localhost|5433"), Database: "mydb", HasDatabase: true,
			Params: params("host", "localhost", "port", "5433"),
		},
		hostList: "localhost", portList: "5433",
	},
	{
		name: "a socket directory given as the host parameter",
		uri:  "postgresql:///db?host=/var/run/postgresql",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("/var/run/postgresql"), Database: "db", HasDatabase: true,
			Params: params("host", "/var/run/postgresql"),
		},
		hostList: "/var/run/postgresql", portList: "5432",
	},
	{
		name: "query parameters override the user information, host list and path",
		uri:  "postgresql://a@h1:5432/db1?host=h2&port=6543&user=b&dbname=db2&password=pw",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "b", Password: "pw", HasPassword: true,
			Hosts: hosts("h2|6543"), Database: "db2", HasDatabase: true,
			Params: params("host", "h2", "port", "6543", "user", "b", "dbname", "db2", "password", "pw"),
		},
		hostList: "h2", portList: "6543",
	},
	{
		name: "one port parameter applies to every host",
		uri:  "postgresql://a,b/db?port=5433",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("a|5433", "b|5433"), Database: "db", HasDatabase: true,
			Params: params("port", "5433"),
		},
		hostList: "a,b", portList: "5433,5433",
	},
	{
		name: "host and port parameters with a list each",
		uri:  "postgresql:///db?host=a,b&port=1,2",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("a|1", "b|2"), Database: "db", HasDatabase: true,
			Params: params("host", "a,b", "port", "1,2"),
		},
		hostList: "a,b", portList: "1,2",
	},
	{
		name: "an empty dbname parameter sets an empty database",
		uri:  "postgresql://h/db?dbname=",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), HasDatabase: true, Params: params("dbname", ""),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a hostaddr beside a host name",
		uri:  "postgresql://db.example.com/app?hostaddr=192.0.2.10",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("db.example.com"), Database: "app", HasDatabase: true,
			Params: params("hostaddr", "192.0.2.10"),
		},
		hostList: "db.example.com", portList: "5432",
	},
	{
		name: "ssl=true is libpq's JDBC spelling of sslmode=require",
		uri:  "postgresql://u@h/db?ssl=true",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "u", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("ssl", "true"),
		},
		hostList: "h", portList: "5432",
		params: map[string]string{"sslmode": "require"},
	},
	{
		name: "requiressl=1 reads as sslmode=require",
		uri:  "postgresql://h?requiressl=1",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Params: params("requiressl", "1"),
		},
		hostList: "h", portList: "5432",
		params: map[string]string{"sslmode": "require"},
	},
	{
		name: "requiressl=0 reads as sslmode=prefer",
		uri:  "postgresql://h?requiressl=0",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Params: params("requiressl", "0"),
		},
		hostList: "h", portList: "5432",
		params: map[string]string{"sslmode": "prefer"},
	},
	{
		name: "a parameter given twice takes its last value",
		uri:  "postgresql://h/db?sslmode=disable&application_name=a&sslmode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("sslmode", "disable", "application_name", "a", "sslmode", "require"),
		},
		hostList: "h", portList: "5432",
		params: map[string]string{"sslmode": "require", "application_name": "a"},
	},
	{
		name: "a trailing & is allowed",
		uri:  "postgresql://h/db?sslmode=require&",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("sslmode", "require"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "an empty query",
		uri:  "postgresql://h/db?",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a query right after the host",
		uri:  "postgresql://h?sslmode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Params: params("sslmode", "require"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a # is an ordinary character, not a fragment",
		uri:  "postgresql://h/db?application_name=a#b",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("application_name", "a#b"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a percent-encoded keyword",
		uri:  "postgresql://h/db?ssl%6Dode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("sslmode", "require"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "an empty parameter value",
		uri:  "postgresql://h/db?application_name=",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("application_name", ""),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "server options with encoded spaces and equals signs",
		uri:  "postgresql://h/db?options=-c%20search_path%3Dpublic%20-c%20work_mem%3D64MB",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("options", "-c search_path=public -c work_mem=64MB"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "a debug keyword such as replication",
		uri:  "postgresql://h/db?replication=database",
		want: &connstring.Conn{
			Scheme: "postgresql", Hosts: hosts("h"), Database: "db", HasDatabase: true,
			Params: params("replication", "database"),
		},
		hostList: "h", portList: "5432",
	},
	{
		name: "the reference's placeholder example",
		uri:  "postgresql://<user>:<password>@<host>/<database>?sslmode=require",
		want: &connstring.Conn{
			Scheme: "postgresql", User: "<user>", Password: "<password>", HasPassword: true,
			Hosts: hosts("<host>"), Database: "<database>", HasDatabase: true,
			Params: params("sslmode", "require"),
		},
		hostList: "<host>", portList: "5432",
	},

	// Refused, as libpq refuses them.
	{
		name: "a malformed escape in the password",
		uri:  "postgresql://u:" + password + "%zz@h/db",
		part: connstring.PartPassword, at: "%zz", reason: "hexadecimal",
	},
	{
		name: "an escape cut short in the password",
		uri:  "postgresql://u:" + password + "%4@h/db",
		part: connstring.PartPassword, at: "%4", reason: "hexadecimal",
	},
	{
		name: "%00 in the password",
		uri:  "postgresql://u:" + password + "%00@h/db",
		part: connstring.PartPassword, at: "%00", reason: "NUL",
	},
	{
		name: "a malformed escape in the user name",
		uri:  "postgresql://u%g1:" + password + "@h/db",
		part: connstring.PartUser, at: "%g1", reason: "hexadecimal",
	},
	{
		name: "a malformed escape in the host",
		uri:  "postgresql://u:" + password + "@h%zz/db",
		part: connstring.PartHost, at: "%zz", reason: "hexadecimal",
	},
	{
		name: "a malformed escape in the port",
		uri:  "postgresql://u:" + password + "@h:54%3/db",
		part: connstring.PartPort, at: "%3", reason: "hexadecimal",
	},
	{
		name: "a % at the end of the database name",
		uri:  "postgresql://u:" + password + "@h/db%",
		part: connstring.PartDatabase, at: "%", reason: "hexadecimal",
	},
	{
		name: "%00 in the database name",
		uri:  "postgresql://u:" + password + "@h/d%00b",
		part: connstring.PartDatabase, at: "%00", reason: "NUL",
	},
	{
		name: "a malformed escape in a parameter name",
		uri:  "postgresql://u:" + password + "@h/db?ssl%mode=require",
		part: connstring.PartParamName, at: "%mo", reason: "hexadecimal",
	},
	{
		name: "%00 in a parameter value",
		uri:  "postgresql://u:" + password + "@h/db?application_name=a%00b",
		part: connstring.PartParamValue, at: "%00", reason: "NUL",
	},
	{
		name: "an unknown parameter",
		uri:  "postgresql://u:" + password + "@h/db?foo=bar",
		part: connstring.PartParamName, at: "foo", reason: "keyword",
	},
	{
		name: "ssl=false, which only ssl=true is an alias for",
		uri:  "postgresql://u:" + password + "@h/db?ssl=false",
		part: connstring.PartParamName, at: "ssl=", reason: "keyword",
	},
	{
		name: "a keyword in upper case",
		uri:  "postgresql://u:" + password + "@h/db?SSLMODE=require",
		part: connstring.PartParamName, at: "SSLMODE", reason: "keyword",
	},
	{
		name: "a keyword libpq 15 does not know yet",
		uri:  "postgresql://u:" + password + "@h/db?require_auth=scram-sha-256",
		part: connstring.PartParamName, at: "require_auth", reason: "libpq 15",
	},
	{
		name: "a parameter without =",
		uri:  "postgresql://u:" + password + "@h/db?sslmode",
		part: connstring.PartParam, at: "sslmode", reason: "no =",
	},
	{
		name: "a parameter with a second =",
		uri:  "postgresql://u:" + password + "@h/db?options=a=b",
		part: connstring.PartParam, at: "options", reason: "second =",
	},
	{
		name: "an empty parameter between two &",
		uri:  "postgresql://u:" + password + "@h/db?sslmode=require&&application_name=x",
		part: connstring.PartParam, at: "&application_name", reason: "no =",
	},
	{
		name: "a parameter with an empty name",
		uri:  "postgresql://u:" + password + "@h/db?=x",
		part: connstring.PartParamName, at: "=x", reason: "keyword",
	},
	{
		name: "an IPv6 address without its closing bracket",
		uri:  "postgresql://u:" + password + "@[2001:db8::1/db",
		part: connstring.PartHost, at: "[", reason: "closing ]",
	},
	{
		name: "empty IPv6 brackets",
		uri:  "postgresql://u:" + password + "@[]:5432/db",
		part: connstring.PartHost, at: "[", reason: "empty",
	},
	{
		name: "something after the IPv6 brackets",
		uri:  "postgresql://u:" + password + "@[::1]x/db",
		part: connstring.PartHost, at: "x/", reason: "followed by",
	},
	{
		name: "an upper-case scheme",
		uri:  "POSTGRESQL://u:" + password + "@h/db",
		part: connstring.PartScheme, at: "POSTGRESQL", reason: "postgresql://",
	},
	{
		name: "a capitalised short scheme",
		uri:  "Postgres://u:" + password + "@h/db",
		part: connstring.PartScheme, at: "Postgres", reason: "postgresql://",
	},
	{
		name: "a scheme with one slash",
		uri:  "postgresql:/u:" + password + "@h/db",
		part: connstring.PartScheme, at: "postgresql", reason: "postgresql://",
	},
	{
		name: "a JDBC URL",
		uri:  "jdbc:postgresql://h/db?password=" + password,
		part: connstring.PartScheme, at: "jdbc", reason: "postgresql://",
	},
	{
		name: "a MySQL URI",
		uri:  "mysql://u:" + password + "@h/db",
		part: connstring.PartScheme, at: "mysql", reason: "postgresql://",
	},

	// Refused on purpose, though libpq's parser lets them through.
	{
		name: "a keyword/value string, which PQconninfoParse reads but is no URI",
		uri:  "host=h user=u password=" + password + " dbname=db",
		part: connstring.PartScheme, at: "host", reason: "postgresql://", libpqAccepts: true,
	},
	{
		name: "an empty string, an empty keyword/value string to libpq",
		uri:  "",
		part: connstring.PartScheme, at: "", reason: "postgresql://", libpqAccepts: true,
	},
	{
		name: "a raw space in the password",
		uri:  "postgresql://u:" + password + " x@h/db",
		part: connstring.PartPassword, at: " ", reason: "white space", libpqAccepts: true,
	},
	{
		name: "a trailing newline",
		uri:  "postgresql://u:" + password + "@h/db?sslmode=require\n",
		part: connstring.PartParamValue, at: "\n", reason: "white space", libpqAccepts: true,
	},
	{
		name: "a tab in the database name",
		uri:  "postgresql://u:" + password + "@h/d\tb",
		part: connstring.PartDatabase, at: "\t", reason: "control", libpqAccepts: true,
	},
	{
		name: "a no-break space in the host",
		uri:  "postgresql://u:" + password + "@h\u00a0/db",
		part: connstring.PartHost, at: "\u00a0", reason: "white space", libpqAccepts: true,
	},
	{
		name: "a NUL byte, which a C string would cut the URI at",
		uri:  "postgresql://u:" + password + "\x00@h/db",
		part: connstring.PartPassword, at: "\x00", reason: "control",
	},
	{
		name: "a port that is not a number",
		uri:  "postgresql://u:" + password + "@h:abc/db",
		part: connstring.PartPort, at: "abc", reason: "1 to 65535", libpqAccepts: true,
	},
	{
		name: "port 0",
		uri:  "postgresql://u:" + password + "@h:0/db",
		part: connstring.PartPort, at: "0/", reason: "1 to 65535", libpqAccepts: true,
	},
	{
		name: "port 65536",
		uri:  "postgresql://u:" + password + "@h:65536/db",
		part: connstring.PartPort, at: "65536", reason: "1 to 65535", libpqAccepts: true,
	},
	{
		name: "a raw / in the password, which leaves a port that is no number",
		uri:  "postgresql://u:pa/" + password + "@h/db",
		part: connstring.PartPort, at: "pa/", reason: "1 to 65535", libpqAccepts: true,
	},
	{
		name: "a port parameter that is not a number",
		uri:  "postgresql://u:" + password + "@h/db?port=5432x",
		part: connstring.PartPort, at: "5432x", reason: "1 to 65535", libpqAccepts: true,
	},
	{
		name: "two ports for three hosts",
		uri:  "postgresql://u:" + password + "@/db?host=a,b,c&port=1,2",
		part: connstring.PartPort, at: "1,2", reason: "number of ports", libpqAccepts: true,
	},
	{
		name: "a host parameter that leaves the host list's two ports to one host",
		uri:  "postgresql://u:" + password + "@a:1,b:2/db?host=c",
		part: connstring.PartPort, at: "a:1", reason: "number of ports", libpqAccepts: true,
	},
	{
		name: "two host names for one hostaddr",
		uri:  "postgresql://u:" + password + "@a,b/db?hostaddr=192.0.2.1",
		part: connstring.PartHostList, at: "a,b", reason: "hostaddr", libpqAccepts: true,
	},
}
