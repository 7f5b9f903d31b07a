// Package connstring parses the PostgreSQL connection URIs the xpander API hands out, the way
// libpq 15's PQconninfoParse reads them, so that the operator can turn one into libpq
// environment variables, a JDBC URL, a password file line and discrete fields that mean to
// every client what the URI means to libpq.
//
// The grammar, as libpq implements it:
//
//	postgresql://[user[:password]@][host][:port][,host[:port]...][/dbname][?key=value[&...]]
//
// Its rules:
//
//   - The scheme is postgresql:// or postgres://, in lower case.
//   - The user information ends at the first @ that comes before any /. The user name ends
//     at its first :, and everything from there to that @ is the password, so a password
//     may hold a raw : but an @ or / in it must be percent-encoded.
//   - Hosts are separated by commas, each with an optional :port. A host that starts with
//     [ is an IPv6 address that runs to the next ], after which only :, /, ?, , or the end
//     may follow. A host list with no host and no port leaves libpq on its default (the
//     Unix socket). A percent-encoded / starts a socket directory, a percent-encoded comma
//     separates hosts once libpq splits its host list.
//   - The database name runs from the / after the hosts to the first ?; an empty one sets
//     nothing.
//   - The query is key=value pairs joined by &. Each pair needs exactly one =, a trailing &
//     is allowed, and the key must be a libpq 15 keyword, or ssl=true, which libpq reads as
//     sslmode=require, or requiressl. A key given twice takes its last value. Query values
//     override what the user information, host list and path said.
//   - Every part is percent-decoded: %XY with two hexadecimal digits in either case, + is a
//     plus and not a space, %00 and a % without two hexadecimal digits are refused. There
//     is no fragment: a # is an ordinary character.
//
// Where this package refuses what libpq accepts, on purpose:
//
//   - Anything but a URI. PQconninfoParse also reads keyword/value strings
//     ("host=h dbname=d", or "" for all defaults); the xpander API hands out URIs only.
//   - Raw white space and control characters anywhere (Unicode ones included). libpq keeps
//     them as data, so a stray newline at the end of a copied URI would silently become
//     part of the last value; percent-encoded they are accepted.
//   - A port that is not a decimal number from 1 to 65535, a number of ports that is
//     neither one nor the number of hosts, and a number of host names that differs from
//     the number of hostaddr values. libpq's parser lets these through but every connection
//     attempt then fails on them, and the fields derived here (a JDBC URL, a password file
//     line) have no meaning for them.
//
// libpq also accepts an empty host list (postgresql:// alone, or postgresql:///db): so does
// Parse, and Hosts is then empty. Whether such a URI is of any use in a cluster is for the
// caller to decide.
package connstring

import (
	"strings"
	"unicode"
)

// Conn is a parsed connection URI, with the values libpq ends up with: where the query
// sets host, port, dbname, user or password, that value is the one in the fields, as it is
// the one libpq uses. Every string is percent-decoded.
type Conn struct {
	// Scheme is "postgresql" or "postgres", as written.
	Scheme string
	// User is the user name, "" when none is given.
	User string
	// Password is the password, "" when none is given.
	Password string
	// HasPassword is true when the URI gives a password, even an empty one ("user:@host"
	// or "?password="). libpq treats an empty password as none and looks in the password
	// file instead.
	HasPassword bool
	// Hosts are the servers libpq will try, in order: one per host of the host list (or of
	// the host parameter), each with its own port, or with the one port that applies to
	// all. An empty Name means libpq's default host, an empty Port the default port, 5432.
	// Hosts is empty when the URI names no host and no port.
	Hosts []Host
	// Database is the database name, "" when none is given.
	Database string
	// HasDatabase is true when the URI sets a database name: a non-empty path, or a dbname
	// parameter. It is false for no path and for "/" alone; libpq then defaults the
	// database to the user name, and no database should be invented.
	HasDatabase bool
	// Params are the query parameters in order, decoded, exactly as given: duplicates are
	// kept and ssl=true is not rewritten. Param gives the value libpq ends up with.
	Params []Param
}

// Host is one server of a connection URI.
type Host struct {
	// Name is a host name, an IP address (IPv6 without brackets) or a Unix socket directory
	// (starting with /). "" means libpq's default.
	Name string
	// Port is the port as written, "" when the URI gives none.
	Port string
}

// Param is one query parameter, decoded.
type Param struct {
	Key, Value string
}

// DefaultPort is the port libpq uses for a host without one.
const DefaultPort = "5432"

// Param returns the value libpq ends up with for a keyword from the query: that of the
// last parameter setting it, with ssl=true and requiressl counted as setting sslmode. ok
// is false when no parameter sets key.
func (c *Conn) Param(key string) (value string, ok bool) {
	for _, p := range c.Params {
		if k, v, known := alias(p.Key, p.Value); known && k == key {
			value, ok = v, true
		}
	}
	return value, ok
}

// HostList returns the host names comma-separated, as libpq's host keyword and PGHOST take
// them. It is "" when the URI names no host.
func (c *Conn) HostList() string {
	names := make([]string, len(c.Hosts))
	empty := true
	for i, h := range c.Hosts {
		names[i] = h.Name
		empty = empty && h.Name == ""
	}
	if empty {
		// A list of empty names is libpq's default host once per entry; with a single entry,
		// or where hostaddr sets the number of servers, that is the same as no list at all.
		if addr, _ := c.Param("hostaddr"); len(c.Hosts) < 2 || addr != "" {
			return ""
		}
	}
	return strings.Join(names, ",")
}

// PortList returns the ports comma-separated, one per host, with DefaultPort for a host
// without one, as libpq's port keyword and PGPORT take them. It is "" only when the URI
// names no host and no port.
func (c *Conn) PortList() string {
	ports := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		ports[i] = h.Port
		if ports[i] == "" {
			ports[i] = DefaultPort
		}
	}
	return strings.Join(ports, ",")
}

// Parse reads uri as libpq 15's PQconninfoParse does, and refuses what it refuses plus the
// few things the package documentation lists. Its errors are *Error, wrap ErrInvalid, and
// never quote the URI or any part of it.
func Parse(uri string) (*Conn, error) {
	p := &parser{uri: uri}
	return p.parse()
}

type parser struct {
	uri string
	pos int
	// valueAt holds where each query parameter's value starts, for errors about it.
	valueAt []int
}

// segment is a raw part of the URI and where it starts.
type segment struct {
	raw    string
	offset int
}

func (p *parser) parse() (*Conn, error) {
	c := &Conn{}
	switch {
	case strings.HasPrefix(p.uri, "postgresql://"):
		c.Scheme, p.pos = "postgresql", len("postgresql://")
	case strings.HasPrefix(p.uri, "postgres://"):
		c.Scheme, p.pos = "postgres", len("postgres://")
	default:
		return nil, fail(PartScheme, 0, reasonScheme)
	}

	if err := p.userinfo(c); err != nil {
		return nil, err
	}
	names, ports, err := p.hosts()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.uri) && p.uri[p.pos] == '/' {
		if err := p.database(c); err != nil {
			return nil, err
		}
	}
	if p.pos < len(p.uri) && p.uri[p.pos] == '?' {
		if err := p.query(c); err != nil {
			return nil, err
		}
	}
	if err := p.fold(c, names, ports); err != nil {
		return nil, err
	}
	return c, nil
}

// userinfo reads "user[:password]@" when the first @ comes before any /, as libpq looks
// for it: the user name ends at the first : and the password at that @.
func (p *parser) userinfo(c *Conn) error {
	rest := p.uri[p.pos:]
	at := strings.IndexAny(rest, "@/")
	if at < 0 || rest[at] != '@' {
		return nil
	}
	info := rest[:at]
	user, password, hasPassword := strings.Cut(info, ":")
	var err error
	if c.User, err = decode(PartUser, segment{user, p.pos}); err != nil {
		return err
	}
	if hasPassword {
		c.HasPassword = true
		c.Password, err = decode(PartPassword, segment{password, p.pos + len(user) + 1})
		if err != nil {
			return err
		}
	}
	p.pos += at + 1
	return nil
}

// hosts reads the comma-separated host list up to the path, the query or the end, and
// returns the decoded names and ports, one of each per entry.
func (p *parser) hosts() (names, ports []segment, err error) {
	for {
		var name segment
		if p.pos < len(p.uri) && p.uri[p.pos] == '[' {
			start := p.pos + 1
			end := strings.IndexByte(p.uri[start:], ']')
			switch {
			case end < 0:
				return nil, nil, fail(PartHost, p.pos, reasonUnclosed)
			case end == 0:
				return nil, nil, fail(PartHost, p.pos, reasonEmptyIPv6)
			}
			name = segment{p.uri[start : start+end], start}
			p.pos = start + end + 1
			if p.pos < len(p.uri) && !strings.ContainsRune(":/?,", rune(p.uri[p.pos])) {
				return nil, nil, fail(PartHost, p.pos, reasonAfterBracket)
			}
		} else {
			name = p.until(":/?,")
		}
		port := segment{offset: p.pos}
		if p.pos < len(p.uri) && p.uri[p.pos] == ':' {
			p.pos++
			port = p.until("/?,")
		}
		names = append(names, name)
		ports = append(ports, port)
		if p.pos >= len(p.uri) || p.uri[p.pos] != ',' {
			break
		}
		p.pos++
	}
	// libpq decodes the whole host list before the whole port list.
	for i := range names {
		if names[i].raw, err = decode(PartHost, names[i]); err != nil {
			return nil, nil, err
		}
	}
	for i := range ports {
		if ports[i].raw, err = decode(PartPort, ports[i]); err != nil {
			return nil, nil, err
		}
	}
	return names, ports, nil
}

// database reads the path after the host list, up to the query.
func (p *parser) database(c *Conn) error {
	p.pos++
	db, err := decode(PartDatabase, p.until("?"))
	if err != nil {
		return err
	}
	c.Database, c.HasDatabase = db, db != ""
	return nil
}

// query reads the parameters after ?, each key=value, joined by &.
func (p *parser) query(c *Conn) error {
	p.pos++
	for p.pos < len(p.uri) {
		start, eq := p.pos, -1
		for ; p.pos < len(p.uri) && p.uri[p.pos] != '&'; p.pos++ {
			if p.uri[p.pos] != '=' {
				continue
			}
			if eq >= 0 {
				return fail(PartParam, start, reasonTwoEquals)
			}
			eq = p.pos
		}
		if eq < 0 {
			return fail(PartParam, start, reasonNoEquals)
		}
		key, err := decode(PartParamName, segment{p.uri[start:eq], start})
		if err != nil {
			return err
		}
		value, err := decode(PartParamValue, segment{p.uri[eq+1 : p.pos], eq + 1})
		if err != nil {
			return err
		}
		if _, _, ok := alias(key, value); !ok {
			return fail(PartParamName, start, reasonKeyword)
		}
		c.Params = append(c.Params, Param{Key: key, Value: value})
		p.valueAt = append(p.valueAt, eq+1)
		if p.pos < len(p.uri) {
			p.pos++ // the &
		}
	}
	return nil
}

// until returns the URI from the current position up to the first of the stop bytes or
// the end, and moves past it.
func (p *parser) until(stop string) segment {
	s := segment{offset: p.pos}
	end := strings.IndexAny(p.uri[p.pos:], stop)
	if end < 0 {
		end = len(p.uri) - p.pos
	}
	s.raw = p.uri[p.pos : p.pos+end]
	p.pos += end
	return s
}

// fold lets the query's host, port, dbname, user and password override the rest of the
// URI, as libpq stores them last, and lays out the servers libpq will try.
func (p *parser) fold(c *Conn, names, ports []segment) error {
	hostList, portList, hostaddr := joinRaw(names), joinRaw(ports), ""
	// Where each list came from, for errors: the host list's start or the parameter's
	// value. The port list is checked entry by entry for the same reason.
	hostListAt, portListAt := 0, 0
	if len(names) > 0 {
		hostListAt, portListAt = names[0].offset, names[0].offset
	}
	portSegs := ports
	for i, prm := range c.Params {
		switch prm.Key {
		case "host":
			hostList, hostListAt = prm.Value, p.valueAt[i]
		case "port":
			portList, portListAt = prm.Value, p.valueAt[i]
			portSegs = []segment{{prm.Value, p.valueAt[i]}}
		case "hostaddr":
			hostaddr = prm.Value
		case "user":
			c.User = prm.Value
		case "password":
			c.Password, c.HasPassword = prm.Value, true
		case "dbname":
			c.Database, c.HasDatabase = prm.Value, true
		}
	}

	for _, s := range portSegs {
		for _, port := range strings.Split(s.raw, ",") {
			if port != "" && !validPort(port) {
				return fail(PartPort, s.offset, reasonPortValue)
			}
		}
	}
	if hostList == "" && portList == "" && hostaddr == "" {
		return nil
	}

	// How many servers libpq tries and on which ports, by its connect-time rules: one per
	// hostaddr value if there are any, else one per host name, else the default host; and
	// either one port for all or one port each.
	hostNames := []string{""}
	if hostList != "" {
		hostNames = strings.Split(hostList, ",")
	}
	if hostaddr != "" {
		n := strings.Count(hostaddr, ",") + 1
		switch {
		case hostList == "":
			hostNames = make([]string, n)
		case len(hostNames) != n:
			return fail(PartHostList, hostListAt, reasonAddrCount)
		}
	}
	portValues := make([]string, len(hostNames))
	if portList != "" {
		split := strings.Split(portList, ",")
		switch len(split) {
		case 1:
			for i := range portValues {
				portValues[i] = split[0]
			}
		case len(hostNames):
			portValues = split
		default:
			return fail(PartPort, portListAt, reasonPortCount)
		}
	}
	c.Hosts = make([]Host, len(hostNames))
	for i := range c.Hosts {
		c.Hosts[i] = Host{Name: hostNames[i], Port: portValues[i]}
	}
	return nil
}

func joinRaw(segs []segment) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = s.raw
	}
	return strings.Join(parts, ",")
}

// validPort reports whether s is a port libpq connects to: decimal digits only (libpq's
// integer parser would also skip white space and a sign) for a number from 1 to 65535.
func validPort(s string) bool {
	if s == "" {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if n = n*10 + int(s[i]-'0'); n > 65535 {
			return false
		}
	}
	return n >= 1
}

// decode percent-decodes a part of the URI as libpq does, after refusing raw white space
// and control characters in it.
func decode(part string, s segment) (string, error) {
	for i, r := range s.raw {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fail(part, s.offset+i, reasonSpace)
		}
	}
	if !strings.Contains(s.raw, "%") {
		return s.raw, nil
	}
	out := make([]byte, 0, len(s.raw))
	for i := 0; i < len(s.raw); i++ {
		if s.raw[i] != '%' {
			out = append(out, s.raw[i])
			continue
		}
		if i+2 >= len(s.raw) {
			return "", fail(part, s.offset+i, reasonPercent)
		}
		hi, ok1 := unhex(s.raw[i+1])
		lo, ok2 := unhex(s.raw[i+2])
		if !ok1 || !ok2 {
			return "", fail(part, s.offset+i, reasonPercent)
		}
		b := hi<<4 | lo
		if b == 0 {
			return "", fail(part, s.offset+i, reasonNUL)
		}
		out = append(out, b)
		i += 2
	}
	return string(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
