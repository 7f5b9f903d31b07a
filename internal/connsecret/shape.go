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
	tparse "text/template/parse"

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
	if err := checkType(s.Type); err != nil {
		return nil, err
	}
	s.Labels, s.Annotations = t.Labels, t.Annotations
	if err := checkMetadata(t.Labels, t.Annotations); err != nil {
		return nil, err
	}
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
		if err := checkConstructs(tmpl); err != nil {
			return nil, invalidf("data: key %q: %v", name, err)
		}
		// Run it once on a made-up connection, so that a template that cannot run is
		// refused before the API is asked for the real one.
		if _, err := execute(tmpl, sampleFields()); err != nil {
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
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"replace": func(old, new, s string) (string, error) {
		n := strings.Count(s, old)
		if len(s)+n*(len(new)-len(old)) > MaxTemplateOutput {
			return "", errTooLong
		}
		return strings.ReplaceAll(s, old, new), nil
	},
	// print, printf and println can pad a value to any width before the output limit
	// sees it; templates concatenate by writing actions next to each other instead.
	"print":   notAvailable("print"),
	"printf":  notAvailable("printf"),
	"println": notAvailable("println"),
	"join":    func(sep string, items []string) string { return strings.Join(items, sep) },
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", safeError("the value cannot be written as JSON")
		}
		return string(b), nil
	},
}

func notAvailable(name string) func(...any) (string, error) {
	return func(...any) (string, error) {
		return "", safeError(name + " is not available in secretTemplate")
	}
}

// safeError is an error of the template functions' own, worded without any value, and so
// fit to report as it is.
type safeError string

func (e safeError) Error() string { return string(e) }

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
		value, err := execute(s.templates[name], fields)
		if err != nil {
			return nil, invalidf("data: key %q: %v", name, err)
		}
		out[name] = value
	}
	return out, nil
}

// MaxTemplateOutput bounds what one data template may write.
const MaxTemplateOutput = 64 << 10

var errTooLong = fmt.Errorf("the template writes more than %d bytes", MaxTemplateOutput)

// execute runs a template with its output bounded. Its error says where the template
// failed but never quotes a value: text/template's own messages can print the data they
// were given (the password, the URI), so only their position part is kept.
func execute(tmpl *template.Template, fields Fields) ([]byte, error) {
	w := &limitedBuffer{}
	err := tmpl.Execute(w, fields)
	switch {
	case err == nil:
		return w.Bytes(), nil
	case w.full || errors.Is(err, errTooLong):
		return nil, errTooLong
	}
	var own safeError
	if errors.As(err, &own) {
		return nil, fmt.Errorf("the template failed to run%s: %w", position(err), own)
	}
	return nil, fmt.Errorf("the template failed to run%s", position(err))
}

// position extracts "at NAME:LINE:COL" from a text/template error, or "".
func position(err error) string {
	var exec template.ExecError
	if !errors.As(err, &exec) {
		return ""
	}
	msg := strings.TrimPrefix(exec.Err.Error(), "template: ")
	where, _, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(where, " \"") {
		return ""
	}
	return " at " + where
}

type limitedBuffer struct {
	bytes.Buffer
	full bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxTemplateOutput {
		b.full = true
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

// checkConstructs refuses the template actions that can loop or call other templates:
// a data template is an expression over one connection, and range over a large number
// could keep the operator busy for ever. Lists have join.
func checkConstructs(tmpl *template.Template) error {
	for _, t := range tmpl.Templates() {
		if t.Name() != tmpl.Name() {
			return errors.New("define and block are not allowed")
		}
		if t.Tree == nil || t.Tree.Root == nil {
			continue
		}
		if err := walk(t.Tree.Root); err != nil {
			return err
		}
	}
	return nil
}

func walk(n tparse.Node) error {
	switch n := n.(type) {
	case *tparse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := walk(c); err != nil {
				return err
			}
		}
	case *tparse.RangeNode:
		return errors.New("range is not allowed (use join for lists)")
	case *tparse.TemplateNode:
		return errors.New("template is not allowed")
	case *tparse.IfNode:
		return walkBranch(&n.BranchNode)
	case *tparse.WithNode:
		return walkBranch(&n.BranchNode)
	}
	return nil
}

func walkBranch(b *tparse.BranchNode) error {
	if err := walk(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return walk(b.ElseList)
	}
	return nil
}

// sampleFields is a made-up connection for trying templates before the real one arrives.
func sampleFields() Fields {
	return Fields{
		URI: "postgresql://user:password@host.example:5432/db?sslmode=require", Scheme: "postgresql",
		User: "user", Password: "password", Host: "host.example", Port: "5432",
		Hosts: []string{"host.example"}, HostList: "host.example", PortList: "5432", Database: "db",
		Params:  map[string]string{"sslmode": "require"},
		JDBCURL: "jdbc:postgresql://host.example:5432/db?user=user&password=password&sslmode=require",
		PGPass:  "host.example:5432:db:user:password\n",
	}
}

// checkType refuses the Secret types Kubernetes gives a meaning of its own (required keys,
// controllers that write into them): the operator would fight them or be refused.
func checkType(t corev1.SecretType) error {
	name := string(t)
	if strings.HasPrefix(name, "kubernetes.io/") || strings.HasPrefix(name, "bootstrap.kubernetes.io/") {
		return invalidf("type %q is reserved by Kubernetes; use Opaque, %s or a type of your own", name, ServiceBindingType)
	}
	return nil
}

// checkMetadata refuses labels and annotations the API server would refuse, so that they
// are reported before a Secret is touched.
func checkMetadata(labels, annotations map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return invalidf("labels: key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			return invalidf("labels: value of %q: %s", k, strings.Join(errs, "; "))
		}
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
			return invalidf("annotations: key %q: %s", k, strings.Join(errs, "; "))
		}
		size += len(k) + len(annotations[k])
	}
	if size > 128<<10 {
		return invalidf("annotations: more than 128 KiB in all")
	}
	return nil
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
