package connstring

import (
	"net/netip"
	"strings"
)

// URI writes the connection back as a URI that Parse, and libpq, read as the same
// connection. Every byte outside A-Z, a-z, 0-9 and -._~ is percent-encoded in the user name,
// the password, host names, ports, the database name and every query key and value; an IPv6
// address is the one exception, written in brackets with its colons as they are. The query
// parameters are written as given, so where they override the other parts, they agree with
// them.
func (c *Conn) URI() string {
	return c.write(false)
}

// String is URI with the password, and any password or sslpassword parameter, replaced by
// "xxxxx", so that a Conn printed by mistake gives nothing away.
func (c *Conn) String() string {
	return c.write(true)
}

func (c *Conn) write(redact bool) string {
	var b strings.Builder
	scheme := c.Scheme
	if scheme == "" {
		scheme = "postgresql"
	}
	b.WriteString(scheme + "://")

	if c.User != "" || c.HasPassword {
		b.WriteString(escape(c.User))
		if c.HasPassword {
			b.WriteByte(':')
			b.WriteString(secret(c.Password, redact))
		}
		b.WriteByte('@')
	}

	for i, h := range c.Hosts {
		if i > 0 {
			b.WriteByte(',')
		}
		if isIPv6(h.Name) {
			b.WriteString("[" + escapeIPv6(h.Name) + "]")
		} else {
			b.WriteString(escape(h.Name))
		}
		if h.Port != "" {
			b.WriteString(":" + escape(h.Port))
		}
	}

	// An empty database name is written as no path: "/" alone would say the same.
	if c.Database != "" {
		b.WriteString("/" + escape(c.Database))
	}

	for i, p := range c.Params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		value := escape(p.Value)
		if p.Key == "password" || p.Key == "sslpassword" {
			value = secret(p.Value, redact)
		}
		b.WriteString(escape(p.Key) + "=" + value)
	}
	return b.String()
}

func secret(s string, redact bool) string {
	if redact {
		return "xxxxx"
	}
	return escape(s)
}

// isIPv6 reports whether a host name is an IPv6 address, possibly with a zone, which a URI
// writes in brackets.
func isIPv6(name string) bool {
	addr, err := netip.ParseAddr(name)
	return err == nil && addr.Is6()
}

// escapeIPv6 encodes an IPv6 address for the inside of brackets: its colons stay, a zone's
// % and anything unusual in it are encoded.
func escapeIPv6(name string) string {
	parts := strings.Split(name, ":")
	for i, p := range parts {
		parts[i] = escape(p)
	}
	return strings.Join(parts, ":")
}

// escape percent-encodes every byte outside RFC 3986's unreserved characters.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if unreserved(s[i]) {
			out = append(out, s[i])
			continue
		}
		out = append(out, '%', hex[s[i]>>4], hex[s[i]&15])
	}
	return string(out)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
