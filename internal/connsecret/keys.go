// Package connsecret turns a parsed connection URI into the entries of the managed Secret:
// the default key set that serves libpq, URL-taking frameworks, pgjdbc and file mounts, and
// the user's shaping of it (a subset, renames, template-built keys).
package connsecret

import (
	"slices"
	"sort"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// The default keys. Their names follow what PostgreSQL consumers already read: libpq's own
// environment variables, DATABASE_URL, the Service Binding spec's host/port/database/
// username/password (which CloudNativePG and Crossplane also use), pgjdbc's URL, and a
// .pgpass line.
const (
	KeyURI         = "uri"
	KeyDatabaseURL = "DATABASE_URL"
	KeyHost        = "host"
	KeyPort        = "port"
	KeyDatabase    = "database"
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyJDBCURL     = "jdbc-url"
	KeyPGPass      = "pgpass"
	KeyPGHost      = "PGHOST"
	KeyPGPort      = "PGPORT"
	KeyPGDatabase  = "PGDATABASE"
	KeyPGUser      = "PGUSER"
	KeyPGPassword  = "PGPASSWORD"
)

// libpqEnv maps each libpq connection parameter that has an environment variable to it
// (PostgreSQL 15's documentation, "Environment Variables"). Parameters without one, such
// as keepalives or sslpassword, reach clients through uri and DATABASE_URL only.
var libpqEnv = map[string]string{
	"hostaddr":                 "PGHOSTADDR",
	"passfile":                 "PGPASSFILE",
	"channel_binding":          "PGCHANNELBINDING",
	"service":                  "PGSERVICE",
	"options":                  "PGOPTIONS",
	"application_name":         "PGAPPNAME",
	"sslmode":                  "PGSSLMODE",
	"sslcompression":           "PGSSLCOMPRESSION",
	"sslcert":                  "PGSSLCERT",
	"sslkey":                   "PGSSLKEY",
	"sslrootcert":              "PGSSLROOTCERT",
	"sslcrl":                   "PGSSLCRL",
	"sslcrldir":                "PGSSLCRLDIR",
	"sslsni":                   "PGSSLSNI",
	"requirepeer":              "PGREQUIREPEER",
	"ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
	"ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
	"gssencmode":               "PGGSSENCMODE",
	"krbsrvname":               "PGKRBSRVNAME",
	"gsslib":                   "PGGSSLIB",
	"connect_timeout":          "PGCONNECT_TIMEOUT",
	"client_encoding":          "PGCLIENTENCODING",
	"target_session_attrs":     "PGTARGETSESSIONATTRS",
}

// DefaultKeys builds every default entry from the URI as received and its parsed form. An
// entry whose value the URI does not give (no database, no password) is left out rather
// than written empty, so that a client falls back to its own default as it would with the
// URI itself.
func DefaultKeys(raw string, c *connstring.Conn) map[string]string {
	d := map[string]string{
		KeyURI:         raw,
		KeyDatabaseURL: raw,
	}
	if jdbc := JDBCURL(c); jdbc != "" {
		d[KeyJDBCURL] = jdbc
	}
	if pgpass := PGPass(c); pgpass != "" {
		d[KeyPGPass] = pgpass
	}
	put := func(value string, ok bool, keys ...string) {
		if !ok {
			return
		}
		for _, k := range keys {
			d[k] = value
		}
	}
	put(c.HostList(), len(c.Hosts) > 0, KeyHost, KeyPGHost)
	put(c.PortList(), c.PortList() != "", KeyPort, KeyPGPort)
	put(c.Database, c.HasDatabase, KeyDatabase, KeyPGDatabase)
	put(c.User, c.User != "", KeyUsername, KeyPGUser)
	put(c.Password, c.HasPassword, KeyPassword, KeyPGPassword)
	// Param gives the value libpq ends up with: the last of duplicates, ssl=true read as
	// sslmode=require. host, port, dbname, user and password given in the query are already
	// folded into the parsed fields above, as libpq folds them.
	for keyword, env := range libpqEnv {
		if v, ok := c.Param(keyword); ok {
			d[env] = v
		}
	}
	return d
}

// DefaultKeyNames lists every name DefaultKeys can produce, sorted: the fixed ones and the
// libpq environment variables.
func DefaultKeyNames() []string {
	names := []string{
		KeyURI, KeyDatabaseURL, KeyHost, KeyPort, KeyDatabase, KeyUsername, KeyPassword,
		KeyJDBCURL, KeyPGPass, KeyPGHost, KeyPGPort, KeyPGDatabase, KeyPGUser, KeyPGPassword,
	}
	for _, env := range libpqEnv {
		names = append(names, env)
	}
	sort.Strings(names)
	return names
}

// isDefaultKey reports whether name is one of DefaultKeyNames.
func isDefaultKey(name string) bool {
	return slices.Contains(DefaultKeyNames(), name)
}
