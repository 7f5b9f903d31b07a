package connsecret

import (
	"strings"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// PGPass returns the connection as a password file (.pgpass) for libpq: one line per host,
// hostname:port:database:username:password, with ':' and '\' escaped by a backslash as
// libpq's reader expects. A URI without a database matches any database ('*'); one without
// a port has 5432, libpq's default.
func PGPass(c *connstring.Conn) string {
	if !c.HasPassword {
		return ""
	}
	// A password file has no way to write a line break inside a field.
	for _, v := range []string{c.Password, c.User, c.Database} {
		if strings.ContainsAny(v, "\r\n") {
			return ""
		}
	}
	database := "*"
	if c.HasDatabase {
		database = pgpassEscape(c.Database)
	}
	user := "*"
	if c.User != "" {
		user = pgpassEscape(c.User)
	}
	hosts := c.Hosts
	if len(hosts) == 0 {
		hosts = []connstring.Host{{Name: "localhost"}}
	}
	var b strings.Builder
	for _, h := range hosts {
		port := h.Port
		if port == "" {
			port = "5432"
		}
		b.WriteString(strings.Join([]string{
			pgpassEscape(h.Name), port, database, user, pgpassEscape(c.Password),
		}, ":"))
		b.WriteByte('\n')
	}
	return b.String()
}

// pgpassEscape writes a literal field: a backslash makes the next character literal, so
// that ':' does not end the field and '*' is not the wildcard.
func pgpassEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`, `*`, `\*`).Replace(s)
}
