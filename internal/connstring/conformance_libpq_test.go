//go:build libpq

package connstring_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
	"github.com/xpander-ai/xpander-db-operator/internal/connstring/libpqref"
)

// The conformance tests hold Parse against libpq's own PQconninfoParse, linked through cgo.
// They need Debian's libpq-dev and run with
//
//	go test -tags libpq ./internal/connstring/...

func TestLibpqIsVersion15(t *testing.T) {
	g := NewWithT(t)

	g.Expect(libpqref.Version()/10000).To(Equal(15), "linked libpq is %d", libpqref.Version())
}

func TestKeywordsAreTheLinkedLibpqs(t *testing.T) {
	g := NewWithT(t)

	g.Expect(connstring.Keywords()).To(Equal(libpqref.Keywords()))
}

func TestLibpqAgreesWithTheTable(t *testing.T) {
	for _, tc := range uriCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)

			opts, err := libpqref.Parse(tc.uri)
			if errors.Is(err, libpqref.ErrNUL) {
				t.Skip("libpq cannot be handed a NUL byte")
			}

			switch {
			case tc.want == nil && !tc.libpqAccepts:
				g.Expect(err).To(HaveOccurred(), "libpq accepts it, with %v", opts)
			case tc.want == nil:
				g.Expect(err).NotTo(HaveOccurred(), "libpq refuses it too: the case needs no libpqAccepts")
			default:
				g.Expect(err).NotTo(HaveOccurred())
				c, perr := connstring.Parse(tc.uri)
				g.Expect(perr).NotTo(HaveOccurred())
				g.Expect(sameAsLibpq(c, opts)).To(Succeed())
				g.Expect(sameText(c, opts)).To(Succeed())
			}
		})
	}
}

func TestLibpqReadsURIAsTheSameConnection(t *testing.T) {
	for _, tc := range uriCases {
		if tc.want == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c, err := connstring.Parse(tc.uri)
			g.Expect(err).NotTo(HaveOccurred())

			opts, err := libpqref.Parse(c.URI())

			g.Expect(err).NotTo(HaveOccurred(), "libpq refuses %q", c.URI())
			g.Expect(sameAsLibpq(c, opts)).To(Succeed(), "libpq reads %q as %v", c.URI(), opts)
		})
	}
}

// sameAsLibpq compares a parsed connection with what PQconninfoParse returned: the user,
// password and database, the servers libpq's connect-time rules make of host, hostaddr and
// port, and every keyword the query sets.
func sameAsLibpq(c *connstring.Conn, opts map[string]string) error {
	var problems []string
	check := func(what string, ours, theirs any) {
		if fmt.Sprint(ours) != fmt.Sprint(theirs) {
			problems = append(problems, fmt.Sprintf("%s: ours %q, libpq's %q", what, ours, theirs))
		}
	}
	check("user", c.User, opts["user"])
	check("password", c.Password, opts["password"])
	if _, set := opts["password"]; set || c.Password != "" {
		// libpq drops an empty password in the user information; it keeps one from ?password=.
		check("password is set", c.HasPassword, set)
	}
	check("dbname", c.Database, opts["dbname"])
	_, set := opts["dbname"]
	check("dbname is set", c.HasDatabase, set)

	servers, err := libpqServers(opts)
	if err != nil {
		problems = append(problems, err.Error())
	}
	check("servers", c.Hosts, servers)
	filled := make([]string, len(servers))
	for i, s := range servers {
		filled[i] = s.Port
		if filled[i] == "" {
			filled[i] = "5432" // libpq's DEF_PGPORT
		}
	}
	check("PortList", c.PortList(), strings.Join(filled, ","))

	for _, kw := range libpqref.Keywords() {
		value, set := c.Param(kw)
		switch {
		case set:
			check(kw, value, opts[kw])
		case slices.Contains([]string{"user", "password", "dbname", "host", "port"}, kw):
			// Set by the user information, host list or path, checked above.
		default:
			_, theirs := opts[kw]
			check(kw+" is set", false, theirs)
		}
	}
	for kw := range opts {
		if !slices.Contains(connstring.Keywords(), kw) {
			problems = append(problems, "libpq set "+kw+", which is not among our keywords")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// sameText compares the host and port lists as text, where libpq's are what the URI says
// and ours say it the same way: HostList against libpq's host keyword, and our ports,
// comma-separated, against libpq's port keyword, unless libpq holds one port for many hosts.
func sameText(c *connstring.Conn, opts map[string]string) error {
	if _, ok := opts["hostaddr"]; !ok && c.HostList() != opts["host"] {
		return fmt.Errorf("HostList %q, libpq's host %q", c.HostList(), opts["host"])
	}
	ports := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		ports[i] = h.Port
	}
	if len(c.Hosts) > 1 && !strings.Contains(opts["port"], ",") {
		return nil
	}
	if got := strings.Join(ports, ","); got != opts["port"] {
		return fmt.Errorf("ports %q, libpq's port %q", got, opts["port"])
	}
	return nil
}

// libpqServers lays out the servers libpq would try from its host, hostaddr and port
// keywords, by the rules of its connect-time option check: one per hostaddr value if any,
// else one per host name, else the default host; and one port for all or one each.
func libpqServers(opts map[string]string) ([]connstring.Host, error) {
	host, addr, port := opts["host"], opts["hostaddr"], opts["port"]
	if host == "" && addr == "" && port == "" {
		return nil, nil
	}
	names := []string{""}
	if host != "" {
		names = strings.Split(host, ",")
	}
	if addr != "" {
		n := len(strings.Split(addr, ","))
		if host == "" {
			names = make([]string, n)
		} else if len(names) != n {
			return nil, fmt.Errorf("libpq would not connect: %d host names, %d hostaddr values", len(names), n)
		}
	}
	ports := make([]string, len(names))
	if port != "" {
		split := strings.Split(port, ",")
		switch len(split) {
		case 1:
			for i := range ports {
				ports[i] = split[0]
			}
		case len(names):
			ports = split
		default:
			return nil, fmt.Errorf("libpq would not connect: %d ports, %d hosts", len(split), len(names))
		}
	}
	servers := make([]connstring.Host, len(names))
	for i := range servers {
		servers[i] = connstring.Host{Name: names[i], Port: ports[i]}
	}
	return servers, nil
}

// FuzzParseMatchesLibpq feeds the same string to Parse and to libpq. Where Parse accepts,
// libpq must accept and read the same connection, also from URI's rewriting of it. Where
// Parse refuses with a reason libpq shares, libpq must refuse too; the refusals the package
// documentation calls deliberate may go either way.
func FuzzParseMatchesLibpq(f *testing.F) {
	for _, tc := range uriCases {
		f.Add(tc.uri)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		opts, libpqErr := libpqref.Parse(uri)
		if errors.Is(libpqErr, libpqref.ErrNUL) {
			return
		}
		c, err := connstring.Parse(uri)

		if err != nil {
			var perr *connstring.Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q): error %q is not an *Error", uri, err)
			}
			if libpqErr == nil && !slices.Contains(connstring.Deliberate, perr.Reason) {
				t.Fatalf("Parse(%q) refuses (%v), libpq reads %q", uri, err, opts)
			}
			return
		}
		if libpqErr != nil {
			t.Fatalf("Parse(%q) accepts, libpq refuses: %v", uri, libpqErr)
		}
		if err := sameAsLibpq(c, opts); err != nil {
			t.Fatalf("Parse(%q) differs from libpq's %q:\n%v", uri, opts, err)
		}
		if err := sameText(c, opts); err != nil {
			t.Fatalf("Parse(%q) differs from libpq's %q:\n%v", uri, opts, err)
		}
		written := c.URI()
		opts, libpqErr = libpqref.Parse(written)
		if libpqErr != nil {
			t.Fatalf("libpq refuses URI %q of %q: %v", written, uri, libpqErr)
		}
		if err := sameAsLibpq(c, opts); err != nil {
			t.Fatalf("libpq reads URI %q of %q otherwise:\n%v", written, uri, err)
		}
	})
}
