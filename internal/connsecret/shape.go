package connsecret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

// ServiceBindingType is the Secret type the Service Binding spec gives PostgreSQL bindings.
const ServiceBindingType = "servicebinding.io/postgresql"

// ErrInvalidTemplate is wrapped by every error Compile returns.
var ErrInvalidTemplate = errors.New("invalid secretTemplate")

// Shape is a checked spec.secretTemplate, ready to build Secret data from a connection.
type Shape struct {
	// Type, Labels and Annotations go onto the Secret as they are.
	Type        corev1.SecretType
	Labels      map[string]string
	Annotations map[string]string

	keys      []string // default keys to write; nil means all
	rename    map[string]string
	only      bool
	templates map[string]*template.Template
}

// Compile checks t and prepares it. A nil t gives the default shape: every default key,
// type Opaque. Errors say which field is wrong and why, and never quote a template's text.
func Compile(t *databasev1alpha1.SecretTemplate) (*Shape, error) {
	s := &Shape{Type: corev1.SecretTypeOpaque, templates: map[string]*template.Template{}}
	if t == nil {
		return s, nil
	}
	if t.Type != "" {
		s.Type = corev1.SecretType(t.Type)
	}
	s.Labels, s.Annotations = t.Labels, t.Annotations
	s.rename, s.only = t.Rename, t.OnlyTemplateKeys
	if t.Keys != nil {
		s.keys = slices.Clone(t.Keys)
	}

	for _, k := range t.Keys {
		if !isDefaultKey(k) {
			return nil, invalidf("keys: %q is not a default key", k)
		}
	}
	for from, to := range t.Rename {
		if !isDefaultKey(from) {
			return nil, invalidf("rename: %q is not a default key", from)
		}
		if err := checkKeyName(to); err != nil {
			return nil, invalidf("rename: %q -> %q: %v", from, to, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Data)) {
		if err := checkKeyName(name); err != nil {
			return nil, invalidf("data: key %q: %v", name, err)
		}
		tmpl, err := template.New(name).Funcs(funcs).Option("missingkey=zero").Parse(t.Data[name])
		if err != nil {
			return nil, invalidf("data: key %q: %v", name, err)
		}
		s.templates[name] = tmpl
	}

	// Every key the Secret can hold must come from exactly one place.
	owner := map[string]string{}
	claim := func(key, from string) error {
		if prev, ok := owner[key]; ok {
			return invalidf("key %q would be written twice, from %s and from %s", key, prev, from)
		}
		owner[key] = from
		return nil
	}
	for _, k := range s.defaultKeys() {
		if err := claim(s.nameOf(k), "default key "+k); err != nil {
			return nil, err
		}
	}
	if s.Type == ServiceBindingType {
		for _, k := range []string{"type", "provider"} {
			if err := claim(k, "the Service Binding type"); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.templates)) {
		if err := claim(name, "data"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidTemplate, fmt.Sprintf(format, args...))
}

func checkKeyName(name string) error {
	if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// defaultKeys lists the default keys this shape may write, before renaming.
func (s *Shape) defaultKeys() []string {
	switch {
	case s.only:
		return nil
	case s.keys != nil:
		return s.keys
	default:
		return DefaultKeyNames()
	}
}

func (s *Shape) nameOf(key string) string {
	if to, ok := s.rename[key]; ok {
		return to
	}
	return key
}

// Fields is what a data template sees, as {{ .User }}, {{ .Params.sslmode }} and so on.
type Fields struct {
	URI      string            // the URI exactly as the API sent it
	Scheme   string            // postgresql or postgres
	User     string            // decoded user name
	Password string            // decoded password
	Host     string            // first host
	Port     string            // first host's port, 5432 when the URI gives none
	Hosts    []string          // every host, in order
	HostList string            // hosts joined by commas, as PGHOST takes them
	PortList string            // ports joined by commas, as PGPORT takes them
	Database string            // decoded database name; empty when the URI has none
	Params   map[string]string // decoded query parameters
	JDBCURL  string            // the jdbc-url default key
	PGPass   string            // the pgpass default key
}

// funcs is the small function set templates may use besides text/template's built-ins.
var funcs = template.FuncMap{
	"urlEncode": escape,
	"default": func(fallback, value string) string {
		if value == "" {
			return fallback
		}
		return value
	},
	"upper":   strings.ToUpper,
	"lower":   strings.ToLower,
	"replace": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"join":    func(sep string, items []string) string { return strings.Join(items, sep) },
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", errors.New("value cannot be written as JSON")
		}
		return string(b), nil
	},
}

// Data builds the Secret's data for a connection.
func (s *Shape) Data(raw string, c *connstring.Conn) (map[string][]byte, error) {
	out := map[string][]byte{}
	defaults := DefaultKeys(raw, c)
	for _, k := range s.defaultKeys() {
		if v, ok := defaults[k]; ok && v != "" {
			out[s.nameOf(k)] = []byte(v)
		}
	}
	if s.Type == ServiceBindingType {
		out["type"] = []byte("postgresql")
		out["provider"] = []byte("xpander")
	}

	if len(s.templates) == 0 {
		return out, nil
	}
	fields := fieldsOf(raw, c, defaults)
	for _, name := range slices.Sorted(maps.Keys(s.templates)) {
		var buf bytes.Buffer
		if err := s.templates[name].Execute(&buf, fields); err != nil {
			// text/template's messages name the template and the failing action, not
			// the data; the redaction is for the functions' own errors.
			return nil, invalidf("data: key %q: %s", name, redact(err.Error(), c))
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}

func fieldsOf(raw string, c *connstring.Conn, defaults map[string]string) Fields {
	f := Fields{
		URI:      raw,
		Scheme:   c.Scheme,
		User:     c.User,
		Password: c.Password,
		HostList: c.HostList(),
		PortList: c.PortList(),
		Database: c.Database,
		Params:   map[string]string{},
		JDBCURL:  defaults[KeyJDBCURL],
		PGPass:   defaults[KeyPGPass],
	}
	for _, h := range c.Hosts {
		f.Hosts = append(f.Hosts, h.Name)
	}
	if len(c.Hosts) > 0 {
		f.Host = c.Hosts[0].Name
		f.Port = c.Hosts[0].Port
	}
	if f.Port == "" {
		f.Port = "5432"
	}
	for _, p := range c.Params {
		if v, ok := c.Param(p.Key); ok {
			f.Params[p.Key] = v
		} else {
			f.Params[p.Key] = p.Value
		}
	}
	if v, ok := c.Param("sslmode"); ok {
		f.Params["sslmode"] = v
	}
	return f
}

// redact removes any credential from an error message.
func redact(msg string, c *connstring.Conn) string {
	for _, secret := range []string{c.Password, c.User} {
		if len(secret) >= 3 {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return msg
}
