package connsecret

import (
	"errors"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
)

const neonURI = "postgresql://user:password@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/xpander?channel_binding=require&sslmode=require"

func parse(t *testing.T, uri string) *connstring.Conn {
	t.Helper()
	c, err := connstring.Parse(uri)
	if err != nil {
		t.Fatalf("parse %q: %v", uri, err)
	}
	return c
}

func TestTheDocumentedAnswerGivesEveryDefaultKey(t *testing.T) {
	g := NewWithT(t)
	got := DefaultKeys(neonURI, parse(t, neonURI))
	g.Expect(got).To(Equal(map[string]string{
		"uri":              neonURI,
		"DATABASE_URL":     neonURI,
		"host":             "ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech",
		"port":             "5432",
		"database":         "xpander",
		"username":         "user",
		"password":         "password",
		"jdbc-url":         "jdbc:postgresql://ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/xpander?user=user&password=password&sslmode=require&channelBinding=require",
		"pgpass":           "ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech:5432:xpander:user:password\n",
		"PGHOST":           "ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech",
		"PGPORT":           "5432",
		"PGDATABASE":       "xpander",
		"PGUSER":           "user",
		"PGPASSWORD":       "password",
		"PGSSLMODE":        "require",
		"PGCHANNELBINDING": "require",
	}))
}

func TestDefaultKeys(t *testing.T) {
	cases := []struct {
		name string
		uri  string
		want map[string]string // a subset of the keys, checked exactly
		none []string          // keys that must be absent
	}{
		{
			name: "a percent-encoded password is decoded for libpq and pgpass, re-encoded for JDBC",
			uri:  "postgresql://app:p%40ss%2Fw%3Ard+1@db.example.com:6543/app",
			want: map[string]string{
				"password":   "p@ss/w:rd+1",
				"PGPASSWORD": "p@ss/w:rd+1",
				"port":       "6543",
				"pgpass":     `db.example.com:6543:app:app:p@ss/w\:rd+1` + "\n",
				"jdbc-url":   "jdbc:postgresql://db.example.com:6543/app?user=app&password=p%40ss%2Fw%3Ard%2B1",
			},
		},
		{
			name: "an IPv6 host keeps its brackets in JDBC and loses them for libpq",
			uri:  "postgresql://u:p@[2001:db8::1234]:5433/db",
			want: map[string]string{
				"host":     "2001:db8::1234",
				"PGHOST":   "2001:db8::1234",
				"PGPORT":   "5433",
				"jdbc-url": "jdbc:postgresql://[2001:db8::1234]:5433/db?user=u&password=p",
				"pgpass":   `2001\:db8\:\:1234:5433:db:u:p` + "\n",
			},
		},
		{
			name: "a host list gives one port per host and one pgpass line per host",
			uri:  "postgresql://u:p@a.example:5433,b.example/db?target_session_attrs=read-write",
			want: map[string]string{
				"PGHOST":               "a.example,b.example",
				"PGPORT":               "5433,5432",
				"PGTARGETSESSIONATTRS": "read-write",
				"jdbc-url":             "jdbc:postgresql://a.example:5433,b.example/db?user=u&password=p&targetServerType=primary",
				"pgpass":               "a.example:5433:db:u:p\nb.example:5432:db:u:p\n",
			},
		},
		{
			name: "Neon's endpoint option is decoded for PGOPTIONS and kept for pgjdbc",
			uri:  "postgresql://u:p@ep-x-pooler.eu-central-1.aws.neon.tech/db?sslmode=require&options=endpoint%3Dep-x",
			want: map[string]string{
				"host":      "ep-x-pooler.eu-central-1.aws.neon.tech",
				"PGOPTIONS": "endpoint=ep-x",
				"jdbc-url":  "jdbc:postgresql://ep-x-pooler.eu-central-1.aws.neon.tech/db?user=u&password=p&sslmode=require&options=endpoint%3Dep-x",
			},
		},
		{
			name: "a URI without a database invents no database key",
			uri:  "postgresql://u:p@h",
			want: map[string]string{"pgpass": "h:5432:*:u:p\n", "jdbc-url": "jdbc:postgresql://h/?user=u&password=p"},
			none: []string{"database", "PGDATABASE"},
		},
		{
			name: "a URI without a password writes no password and no pgpass line",
			uri:  "postgres://u@h/db",
			none: []string{"password", "PGPASSWORD", "pgpass"},
		},
		{
			name: "parameters pgjdbc spells differently are translated, ones it lacks are left out",
			uri:  "postgresql://u:p@h/db?application_name=app&connect_timeout=7&keepalives=0&sslsni=1",
			want: map[string]string{
				"PGAPPNAME":         "app",
				"PGCONNECT_TIMEOUT": "7",
				"PGSSLSNI":          "1",
				"jdbc-url":          "jdbc:postgresql://h/db?user=u&password=p&ApplicationName=app&connectTimeout=7&tcpKeepAlive=false",
			},
		},
		{
			name: "a repeated parameter counts once, with its last value, as in libpq",
			uri:  "postgresql://u:p@h/db?sslmode=disable&sslmode=verify-full",
			want: map[string]string{"PGSSLMODE": "verify-full", "jdbc-url": "jdbc:postgresql://h/db?user=u&password=p&sslmode=verify-full"},
		},
		{
			name: "a password with a line break gets no pgpass line, which could not hold it",
			uri:  "postgresql://u:p%0Aq@h/db",
			want: map[string]string{"PGPASSWORD": "p\nq"},
			none: []string{"pgpass"},
		},
		{
			name: "a Unix socket host gets no jdbc-url, which pgjdbc could not use",
			uri:  "postgresql:///db?host=/var/run/postgresql",
			want: map[string]string{"PGHOST": "/var/run/postgresql"},
			none: []string{"jdbc-url"},
		},
		{
			name: "a pgpass field with a star or backslash is escaped, not a wildcard",
			uri:  "postgresql://u%2A:p%5Cq@h/d%2A",
			want: map[string]string{"pgpass": `h:5432:d\*:u\*:p\\q` + "\n"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := DefaultKeys(tc.uri, parse(t, tc.uri))
			g.Expect(got).To(HaveKeyWithValue("uri", tc.uri))
			g.Expect(got).To(HaveKeyWithValue("DATABASE_URL", tc.uri))
			for k, v := range tc.want {
				g.Expect(got).To(HaveKeyWithValue(k, v), "key %s", k)
			}
			for _, k := range tc.none {
				g.Expect(got).NotTo(HaveKey(k))
			}
			for k := range got {
				g.Expect(DefaultKeyNames()).To(ContainElement(k), "every key written is documented")
			}
		})
	}
}

func TestShapes(t *testing.T) {
	cases := []struct {
		name     string
		template *databasev1alpha1.SecretTemplate
		want     map[string]string
		wantType corev1.SecretType
	}{
		{
			name:     "no template writes every default key into an Opaque Secret",
			wantType: corev1.SecretTypeOpaque,
		},
		{
			name: "keys and rename choose and name the entries",
			template: &databasev1alpha1.SecretTemplate{
				Keys:   []string{"uri", "PGPASSWORD", "database"},
				Rename: map[string]string{"uri": "SPRING_DATASOURCE_URL"},
			},
			wantType: corev1.SecretTypeOpaque,
			want: map[string]string{
				"SPRING_DATASOURCE_URL": neonURI,
				"PGPASSWORD":            "password",
				"database":              "xpander",
			},
		},
		{
			name: "templates build extra keys over the parsed fields",
			template: &databasev1alpha1.SecretTemplate{
				OnlyTemplateKeys: true,
				Data: map[string]string{
					"dotnet":  "Host={{ .Host }};Port={{ .Port }};Database={{ .Database }};Username={{ .User }};Password={{ .Password }};SSL Mode={{ .Params.sslmode | default \"Prefer\" }}",
					"pooled":  `{{ replace "ep-proud-credit-af01jccy" "ep-proud-credit-af01jccy-pooler" .URI }}`,
					"encoded": `{{ urlEncode .Password }}@{{ upper .Database }}`,
					"json":    `{"user":{{ json .User }},"hosts":{{ json .Hosts }}}`,
				},
			},
			wantType: corev1.SecretTypeOpaque,
			want: map[string]string{
				"dotnet":  "Host=ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech;Port=5432;Database=xpander;Username=user;Password=password;SSL Mode=require",
				"pooled":  strings.Replace(neonURI, "ep-proud-credit-af01jccy", "ep-proud-credit-af01jccy-pooler", 1),
				"encoded": "password@XPANDER",
				"json":    `{"user":"user","hosts":["ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech"]}`,
			},
		},
		{
			name: "the Service Binding type adds its type and provider entries",
			template: &databasev1alpha1.SecretTemplate{
				Type: ServiceBindingType,
				Keys: []string{"host", "port", "database", "username", "password"},
			},
			wantType: ServiceBindingType,
			want: map[string]string{
				"type": "postgresql", "provider": "xpander",
				"host": "ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech", "port": "5432",
				"database": "xpander", "username": "user", "password": "password",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			shape, err := Compile(tc.template)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(shape.Type).To(Equal(tc.wantType))
			data, err := shape.Data(neonURI, parse(t, neonURI))
			g.Expect(err).NotTo(HaveOccurred())
			want := tc.want
			if tc.template == nil {
				want = DefaultKeys(neonURI, parse(t, neonURI))
			}
			got := map[string]string{}
			for k, v := range data {
				got[k] = string(v)
			}
			g.Expect(got).To(Equal(want))
		})
	}
}

func TestInvalidTemplatesAreRefusedWithTheReason(t *testing.T) {
	cases := []struct {
		name     string
		template databasev1alpha1.SecretTemplate
		want     string
	}{
		{"an unknown default key", databasev1alpha1.SecretTemplate{Keys: []string{"URL"}}, `keys: "URL" is not a default key`},
		{"a rename of an unknown key", databasev1alpha1.SecretTemplate{Rename: map[string]string{"url": "X"}}, `rename: "url" is not a default key`},
		{"a rename to an invalid key name", databasev1alpha1.SecretTemplate{Rename: map[string]string{"uri": "a b"}}, `rename: "uri" -> "a b"`},
		{"a rename onto another default key", databasev1alpha1.SecretTemplate{Rename: map[string]string{"uri": "DATABASE_URL"}}, `key "DATABASE_URL" would be written twice`},
		{"a data key that is also a default key", databasev1alpha1.SecretTemplate{Data: map[string]string{"uri": "x"}}, `key "uri" would be written twice`},
		{"a data key with a bad name", databasev1alpha1.SecretTemplate{OnlyTemplateKeys: true, Data: map[string]string{"a/b": "x"}}, `data: key "a/b"`},
		{"a template that does not parse", databasev1alpha1.SecretTemplate{OnlyTemplateKeys: true, Data: map[string]string{"x": "{{ .User "}}, `data: key "x"`},
		{"a template calling an unknown function", databasev1alpha1.SecretTemplate{OnlyTemplateKeys: true, Data: map[string]string{"x": "{{ b64enc .User }}"}}, `function "b64enc" not defined`},
		{"the Service Binding type over a data key named type", databasev1alpha1.SecretTemplate{Type: ServiceBindingType, OnlyTemplateKeys: true, Data: map[string]string{"type": "x"}}, `key "type" would be written twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Compile(&tc.template)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(errors.Is(err, ErrInvalidTemplate)).To(BeTrue())
		})
	}
}

func TestATemplateThatCannotRunIsRefusedBeforeAnyConnectionIsFetched(t *testing.T) {
	g := NewWithT(t)
	_, err := Compile(&databasev1alpha1.SecretTemplate{
		OnlyTemplateKeys: true,
		Data:             map[string]string{"x": "{{ .Password.Length }}"},
	})
	g.Expect(err).To(MatchError(`invalid secretTemplate: data: key "x": the template failed to run at x:1:12`))
}

// TestTemplatesCannotLeakOrExhaustTheOperator runs templates that try to print the
// connection into an error message, or to make the operator loop or allocate without end.
func TestTemplatesCannotLeakOrExhaustTheOperator(t *testing.T) {
	const uri = "postgresql://dbuser:Se%2Fcr%40t99@h/db"
	cases := []struct {
		name     string
		template string
		want     string
	}{
		{"ranging over the URI to get it into the error", `{{ range .URI }}{{ end }}`, "range is not allowed"},
		{"nested ranges over large numbers", `{{ range 1000000 }}{{ range 1000000 }}{{ end }}{{ end }}`, "range is not allowed"},
		{"a range hidden in a with", `{{ with .User }}{{ range 3 }}{{ end }}{{ end }}`, "range is not allowed"},
		{"printf padding to a huge width", `{{ printf "%099999999d" 1 }}`, "printf is not available"},
		{"a defined template", `{{ define "t" }}x{{ end }}{{ template "t" }}`, "not allowed"},
		{"replace blowing up the URI", `{{ replace "" (replace "" (replace "" "xxxxxxxxxxxxxxxx" .URI) .URI) .URI }}`, "writes more than"},
		{"a field that is not a method of a string", `{{ .Password.Nope }}`, "the template failed to run at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			shape, err := Compile(&databasev1alpha1.SecretTemplate{OnlyTemplateKeys: true, Data: map[string]string{"x": tc.template}})
			if err == nil {
				_, err = shape.Data(uri, parse(t, uri))
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			for _, secret := range []string{"Se/cr@t99", "Se%2Fcr%40t99", "dbuser", "password"} {
				g.Expect(err.Error()).NotTo(ContainSubstring(secret))
			}
		})
	}
}

func TestTypesLabelsAndAnnotationsTheAPIServerWouldRefuseAreRefusedFirst(t *testing.T) {
	cases := []struct {
		name     string
		template databasev1alpha1.SecretTemplate
		want     string
	}{
		{"a type Kubernetes reserves", databasev1alpha1.SecretTemplate{Type: "kubernetes.io/tls"}, `type "kubernetes.io/tls" is reserved`},
		{"a service account token type", databasev1alpha1.SecretTemplate{Type: "kubernetes.io/service-account-token"}, "is reserved"},
		{"a label key with a space", databasev1alpha1.SecretTemplate{Labels: map[string]string{"bad label": "x"}}, `labels: key "bad label"`},
		{"a label value too long", databasev1alpha1.SecretTemplate{Labels: map[string]string{"a": strings.Repeat("x", 64)}}, `labels: value of "a"`},
		{"an annotation key with a space", databasev1alpha1.SecretTemplate{Annotations: map[string]string{"a b": "x"}}, `annotations: key "a b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(&tc.template)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}
