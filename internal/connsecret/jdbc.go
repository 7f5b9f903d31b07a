package connsecret

import (
	"strings"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// pgjdbcOrder is the order libpq parameters appear in in a JDBC URL.
var pgjdbcOrder = []string{
	"sslmode", "channel_binding", "sslcert", "sslkey", "sslrootcert", "sslpassword",
	"application_name", "connect_timeout", "options", "target_session_attrs",
	"keepalives", "gssencmode", "gsslib", "krbsrvname", "replication", "service",
}

// pgjdbcParam maps libpq parameter names to pgjdbc's where pgjdbc has an equivalent
// (pgjdbc's PGProperty). Parameters missing here have no pgjdbc counterpart and are left out
// of the JDBC URL: the uri key still carries them for libpq-based clients.
var pgjdbcParam = map[string]string{
	"sslmode":          "sslmode",
	"sslcert":          "sslcert",
	"sslkey":           "sslkey",
	"sslrootcert":      "sslrootcert",
	"sslpassword":      "sslpassword",
	"channel_binding":  "channelBinding",
	"application_name": "ApplicationName",
	"connect_timeout":  "connectTimeout",
	"options":          "options",
	"gssencmode":       "gssEncMode",
	"gsslib":           "gsslib",
	"krbsrvname":       "kerberosServerName",
	"replication":      "replication",
	"service":          "service",
}

// pgjdbcValue translates the parameters whose values pgjdbc spells differently. It returns
// the pgjdbc name and value, or ok false when pgjdbc has no equivalent.
func pgjdbcValue(key, value string) (name, v string, ok bool) {
	switch key {
	case "target_session_attrs":
		types := map[string]string{
			"any": "any", "read-write": "primary", "primary": "primary",
			"read-only": "secondary", "standby": "secondary", "prefer-standby": "preferSecondary",
		}
		v, ok = types[value]
		return "targetServerType", v, ok
	case "keepalives":
		return "tcpKeepAlive", map[bool]string{true: "true", false: "false"}[value != "0"], true
	}
	name, ok = pgjdbcParam[key]
	return name, value, ok
}

// JDBCURL returns the connection in pgjdbc's documented URL form,
// jdbc:postgresql://host1:port1,host2:port2/database?user=...&password=...&..., with the
// user, the password and every other value percent-encoded. pgjdbc decodes parameter values
// with java.net.URLDecoder, which reads '+' as a space, so '+' is encoded too.
//
// It returns "" when a host is a Unix socket directory, which pgjdbc cannot reach.
func JDBCURL(c *connstring.Conn) string {
	for _, h := range c.Hosts {
		if strings.HasPrefix(h.Name, "/") {
			return ""
		}
	}
	var b strings.Builder
	b.WriteString("jdbc:postgresql://")
	for i, h := range c.Hosts {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case h.Name == "":
			b.WriteString("localhost") // libpq's default host; pgjdbc has no socket default
		case strings.Contains(h.Name, ":"):
			b.WriteString("[" + h.Name + "]")
		default:
			b.WriteString(escape(h.Name))
		}
		if h.Port != "" {
			b.WriteString(":" + h.Port)
		}
	}
	b.WriteByte('/')
	if c.HasDatabase {
		b.WriteString(escape(c.Database))
	}

	var params []string
	add := func(k, v string) { params = append(params, escape(k)+"="+escape(v)) }
	if c.User != "" {
		add("user", c.User)
	}
	if c.HasPassword {
		add("password", c.Password)
	}
	for _, keyword := range pgjdbcOrder {
		value, ok := c.Param(keyword)
		if !ok {
			continue
		}
		if name, v, ok := pgjdbcValue(keyword, value); ok {
			add(name, v)
		}
	}
	if len(params) > 0 {
		b.WriteString("?" + strings.Join(params, "&"))
	}
	return b.String()
}

// escape percent-encodes every byte outside RFC 3986's unreserved set.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
