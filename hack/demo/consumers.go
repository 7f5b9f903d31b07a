package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The client programs in hack/consumers, each of which reads one entry of the managed Secret
// the way an application of its kind would.
const (
	pgxConsumerDir  = "hack/consumers/pgx"
	jdbcConsumerSrc = "hack/consumers/jdbc/JdbcConsumer.java"
	nodeConsumerDir = "hack/consumers/node"
	defaultJDBCJar  = "/usr/share/java/postgresql.jar"
)

// consumerQuery is what every client runs; its answer must be the role in the Secret.
const consumerQuery = "SELECT current_user"

// tools are the programs outside the repository that the client checks need.
type tools struct {
	goBin, javac, java, jdbcJar, node, npm string
}

// findTools finds every tool the client checks need and, for those missing, says in one
// error which Debian package brings each, so that a fresh machine is set up in one go.
func findTools(jdbcJar string) (tools, error) {
	var t tools
	var missing []string
	look := func(dst *string, name, pkg string) {
		path, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", name, pkg))
			return
		}
		*dst = path
	}
	look(&t.goBin, "go", "Go toolchain, to build "+pgxConsumerDir)
	look(&t.javac, "javac", "Debian package openjdk-17-jdk-headless")
	look(&t.java, "java", "Debian package openjdk-17-jre-headless")
	look(&t.node, "node", "Debian package nodejs")
	look(&t.npm, "npm", "Debian package npm, or nodejs from a source that bundles npm")
	if _, err := os.Stat(jdbcJar); err != nil {
		missing = append(missing, fmt.Sprintf("the pgjdbc driver %s (Debian package libpostgresql-jdbc-java, "+
			"or pass --jdbc-jar)", jdbcJar))
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("the client checks need, and this machine lacks: %s", strings.Join(missing, "; "))
	}
	t.jdbcJar = jdbcJar
	return t, nil
}

// built is where buildConsumers put each client program.
type built struct {
	pgxBin     string // the pgx program
	jdbcClass  string // directory holding JdbcConsumer.class
	nodeDir    string // package directory with node_modules, after npm ci
	nodeScript string
	homeDir    string // an empty HOME for every client, so no ~/.pgpass or ~/.postgresql counts
	pgCA       string // the PostgreSQL server's certificate, for Node's trust store
}

// buildEnv is the environment for the builds: the demo's own, which may need proxy
// settings to reach the Go module proxy and the npm registry, less libpq's variables.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PG") || name == "KUBECONFIG" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// 1. The client programs: built from the repository into the work directory, all three at
// once. The Go build cache and the npm cache make a second run quick.
func (d *demo) buildConsumers(ctx context.Context) error {
	b := &d.built
	out := filepath.Join(d.work, "consumers")
	b.pgxBin = filepath.Join(out, "pgx-consumer")
	b.jdbcClass = filepath.Join(out, "jdbc")
	b.nodeDir = filepath.Join(out, "node")
	b.nodeScript = filepath.Join(b.nodeDir, "consumer.js")
	b.homeDir = filepath.Join(out, "home")
	for _, dir := range []string{b.jdbcClass, b.nodeDir, b.homeDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	// npm ci installs into the directory holding package.json; a copy in the work directory
	// keeps node_modules out of the repository and apart from other runs.
	for _, name := range []string{"package.json", "package-lock.json", "consumer.js"} {
		data, err := os.ReadFile(filepath.Join(d.repo, nodeConsumerDir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(b.nodeDir, name), data, 0o600); err != nil {
			return err
		}
	}

	builds := []struct {
		what string
		cmd  command
	}{
		{"pgx program (go build in " + pgxConsumerDir + ")", command{
			argv: []string{d.tools.goBin, "build", "-trimpath", "-o", b.pgxBin, "."},
			dir:  filepath.Join(d.repo, pgxConsumerDir),
		}},
		{"pgjdbc program (javac " + jdbcConsumerSrc + ")", command{
			argv: []string{d.tools.javac, "-d", b.jdbcClass, filepath.Join(d.repo, jdbcConsumerSrc)},
		}},
		{"node-postgres program (npm ci from " + nodeConsumerDir + "/package-lock.json)", command{
			argv: []string{d.tools.npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"},
			dir:  b.nodeDir,
		}},
	}
	d.shell("(cd %s && go build -o %s .)", pgxConsumerDir, b.pgxBin)
	d.shell("javac -d %s %s", b.jdbcClass, jdbcConsumerSrc)
	d.shell("(cd %s && npm ci)   # a copy of %s", b.nodeDir, nodeConsumerDir)
	took := make([]time.Duration, len(builds))
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, bd := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			bd.cmd.env = buildEnv()
			bd.cmd.timeout = 3 * time.Minute
			if _, err := bd.cmd.run(ctx); err != nil {
				errs[i] = fmt.Errorf("build the %s: %w", bd.what, err)
			}
			took[i] = time.Since(began).Round(100 * time.Millisecond)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, bd := range builds {
		d.saw("built the %s in %s", bd.what, took[i])
	}
	return ctx.Err()
}

// consumer is one client program and how it is handed the Secret's entries.
type consumer struct {
	name string
	// keys are the Secret entries the client is given; nothing else reaches it.
	keys []string
	run  func(ctx context.Context, data map[string]string) (result, error)
}

// consumers lists the clients in the order they run.
func (d *demo) consumers() []consumer {
	return []consumer{
		{"psql, URI", []string{"uri"}, d.psqlURIConsumer},
		{"psql, PG* variables", []string{"PG*"}, d.psqlEnvConsumer},
		{"psql, pgpass file", []string{"pgpass", "PG* but PGPASSWORD"}, d.psqlPassfileConsumer},
		{"Go, pgx", []string{"DATABASE_URL"}, d.pgxConsumer},
		{"Java, pgjdbc", []string{"jdbc-url"}, d.jdbcConsumer},
		{"Node.js, node-postgres", []string{"DATABASE_URL"}, d.nodeConsumer},
	}
}

// checkConsumers runs every client with what the managed Secret holds now and checks each
// one is logged in as the role. first adds the checks that show what each client relies
// on; after the rotation they would only repeat themselves.
func (d *demo) checkConsumers(ctx context.Context, first bool) error {
	d.shell("kubectl get secret %s -o jsonpath='{.data}'   # every entry, each base64-decoded", managedSecret)
	version, data, err := d.readSecretData(ctx)
	if err != nil {
		return err
	}
	if data["uri"] != d.uri {
		return fmt.Errorf("the managed Secret's uri is %s, not the API's answer %s", maskURI(data["uri"]), maskURI(d.uri))
	}
	names := make([]string, 0, len(data))
	for k := range data {
		names = append(names, k)
	}
	sort.Strings(names)
	d.saw("Secret %s (resourceVersion %s) has %d keys: %s", managedSecret, version, len(names), strings.Join(names, " "))
	d.saw("its jdbc-url: %s", maskJDBC(data["jdbc-url"]))

	var summary []string
	for _, c := range d.consumers() {
		res, err := c.run(ctx, data)
		if err != nil {
			return fmt.Errorf("%s with the Secret's %s: %w", c.name, strings.Join(c.keys, ", "), err)
		}
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if lines[0] != roleName {
			return fmt.Errorf("%s: %s returned %q, want %q", c.name, consumerQuery, lines[0], roleName)
		}
		client := ""
		if len(lines) > 1 {
			client = " (" + strings.Join(lines[1:], "; ") + ")"
		}
		d.saw("%-24s %s -> %s%s", c.name+":", consumerQuery, lines[0], client)
		summary = append(summary, c.name)
	}

	if first {
		if err := d.showReliance(ctx, data); err != nil {
			return err
		}
		d.facts = append(d.facts, fmt.Sprintf("%d clients logged in with the managed Secret's keys alone, "+
			"before and after the rotation: %s", len(summary), strings.Join(summary, "; ")))
	}
	return ctx.Err()
}

// showReliance shows that the pgpass file is what logs psql in, and that Node trusts the
// server only because it was given the server's CA.
func (d *demo) showReliance(ctx context.Context, data map[string]string) error {
	empty := filepath.Join(d.work, "consumers", "empty-pgpass")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return err
	}
	res, err := d.psqlPassfile(ctx, data, empty)
	if err == nil {
		return errors.New("psql logged in with an empty password file: something other than the file supplies the password")
	}
	if !strings.Contains(res.stderr, "no password supplied") {
		return fmt.Errorf("psql with an empty password file failed, but not for want of a password: %w", err)
	}
	d.saw("with an empty PGPASSFILE instead, psql fails: %s", firstLine(pgError(res.stderr)))

	res, err = d.node(ctx, data, false)
	if err == nil {
		return errors.New("node-postgres connected without the server's CA: it no longer verifies sslmode=require")
	}
	if !strings.Contains(res.stderr, "self-signed certificate") {
		return fmt.Errorf("node-postgres without the server's CA failed, but not on the certificate: %w", err)
	}
	d.saw("without NODE_EXTRA_CA_CERTS, node-postgres refuses the server: %s", nodeError(res.stderr))
	if strings.Contains(res.stderr, "aliases for 'verify-full'") {
		d.saw("and warns: sslmode 'prefer', 'require' and 'verify-ca' are treated as aliases for 'verify-full'")
	}
	return nil
}

// consumerEnv is the environment every client starts from: no PG* variables, no proxy
// settings, and a HOME of its own, so that only what the Secret gives reaches it.
func (d *demo) consumerEnv(extra ...string) []string {
	env := slices.DeleteFunc(baseEnv(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOME=")
	})
	return append(append(env, "HOME="+d.built.homeDir, "LC_ALL=C"), extra...)
}

// need returns the Secret's entry key, or an error naming it.
func need(data map[string]string, key string) (string, error) {
	v, ok := data[key]
	if !ok || v == "" {
		return "", fmt.Errorf("the managed Secret has no %s entry", key)
	}
	return v, nil
}

// envName matches the names a POSIX shell accepts for a variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pgVars returns every PG* entry of the Secret as NAME=value, less those named in skip.
func pgVars(data map[string]string, skip ...string) []string {
	var env []string
	for k, v := range data {
		if strings.HasPrefix(k, "PG") && envName.MatchString(k) && !slices.Contains(skip, k) {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	return env
}

// 1. psql with the uri entry as its only argument besides the query.
func (d *demo) psqlURIConsumer(ctx context.Context, data map[string]string) (result, error) {
	uri, err := need(data, "uri")
	if err != nil {
		return result{}, err
	}
	d.shell("psql \"$(kubectl get secret %s -o jsonpath='{.data.uri}' | base64 -d)\" -Atc '%s'", managedSecret, consumerQuery)
	return command{
		argv: []string{d.psqlBin, "-X", "-w", uri, "-Atc", consumerQuery},
		env:  d.consumerEnv(),
	}.run(ctx)
}

// 2. psql with the Secret's libpq variables as its whole configuration, as a Pod with
// envFrom the Secret would run it.
func (d *demo) psqlEnvConsumer(ctx context.Context, data map[string]string) (result, error) {
	vars := pgVars(data)
	if len(vars) == 0 {
		return result{}, errors.New("the managed Secret has no PG* entries")
	}
	d.shell("env %s psql -Atc '%s'   # each variable set from the Secret's entry of that name",
		elided(vars), consumerQuery)
	return command{
		argv: []string{d.psqlBin, "-X", "-w", "-Atc", consumerQuery},
		env:  d.consumerEnv(vars...),
	}.run(ctx)
}

// 3. psql with the pgpass entry as its password file and the other PG* entries, but not
// PGPASSWORD, in its environment.
func (d *demo) psqlPassfileConsumer(ctx context.Context, data map[string]string) (result, error) {
	line, err := need(data, "pgpass")
	if err != nil {
		return result{}, err
	}
	path := filepath.Join(d.work, "consumers", "pgpass")
	// libpq ignores a password file that others may read.
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return result{}, err
	}
	d.shell("(umask 077; kubectl get secret %s -o jsonpath='{.data.pgpass}' | base64 -d > %s)", managedSecret, path)
	d.shell("env PGPASSFILE=%s %s psql -Atc '%s'", path, elided(pgVars(data, "PGPASSWORD")), consumerQuery)
	return d.psqlPassfile(ctx, data, path)
}

func (d *demo) psqlPassfile(ctx context.Context, data map[string]string, path string) (result, error) {
	return command{
		argv: []string{d.psqlBin, "-X", "-w", "-Atc", consumerQuery},
		env:  d.consumerEnv(append(pgVars(data, "PGPASSWORD"), "PGPASSFILE="+path)...),
	}.run(ctx)
}

// elided shows NAME=value variables as NAME=... for printing.
func elided(vars []string) string {
	names := make([]string, len(vars))
	for i, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		names[i] = name + "=..."
	}
	return strings.Join(names, " ")
}

// 4. The pgx program with DATABASE_URL.
func (d *demo) pgxConsumer(ctx context.Context, data map[string]string) (result, error) {
	url, err := need(data, "DATABASE_URL")
	if err != nil {
		return result{}, err
	}
	d.shell("DATABASE_URL=\"$(kubectl get secret %s -o jsonpath='{.data.DATABASE_URL}' | base64 -d)\" %s",
		managedSecret, d.built.pgxBin)
	return command{argv: []string{d.built.pgxBin}, env: d.consumerEnv("DATABASE_URL=" + url)}.run(ctx)
}

// 5. The pgjdbc program with jdbc-url.
func (d *demo) jdbcConsumer(ctx context.Context, data map[string]string) (result, error) {
	url, err := need(data, "jdbc-url")
	if err != nil {
		return result{}, err
	}
	cp := d.tools.jdbcJar + string(os.PathListSeparator) + d.built.jdbcClass
	d.shell("JDBC_URL=\"$(kubectl get secret %s -o jsonpath='{.data.jdbc-url}' | base64 -d)\" java -cp %s JdbcConsumer",
		managedSecret, cp)
	return command{
		argv:    []string{d.tools.java, "-XX:TieredStopAtLevel=1", "-cp", cp, "JdbcConsumer"},
		env:     d.consumerEnv("JDBC_URL=" + url),
		timeout: 60 * time.Second,
	}.run(ctx)
}

// 6. The node-postgres program with DATABASE_URL, trusting the server's CA.
func (d *demo) nodeConsumer(ctx context.Context, data map[string]string) (result, error) {
	d.shell("DATABASE_URL=\"$(kubectl get secret %s -o jsonpath='{.data.DATABASE_URL}' | base64 -d)\" "+
		"NODE_EXTRA_CA_CERTS=%s node %s", managedSecret, d.built.pgCA, d.built.nodeScript)
	return d.node(ctx, data, true)
}

// node runs the node-postgres program, with the server's CA in Node's trust store or not.
func (d *demo) node(ctx context.Context, data map[string]string, withCA bool) (result, error) {
	url, err := need(data, "DATABASE_URL")
	if err != nil {
		return result{}, err
	}
	env := []string{"DATABASE_URL=" + url}
	if withCA {
		env = append(env, "NODE_EXTRA_CA_CERTS="+d.built.pgCA)
	}
	return command{
		argv:    []string{d.tools.node, d.built.nodeScript},
		env:     d.consumerEnv(env...),
		dir:     d.built.nodeDir,
		timeout: 30 * time.Second,
	}.run(ctx)
}

// nodeError keeps the node-postgres program's own message from its standard error.
func nodeError(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if _, msg, ok := strings.Cut(line, "node-postgres consumer: "); ok {
			return msg
		}
	}
	return firstLine(stderr)
}

// readSecretData returns the managed Secret's resourceVersion and every entry, decoded.
func (d *demo) readSecretData(ctx context.Context) (string, map[string]string, error) {
	out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", "secret", managedSecret, "-n", namespace,
		"-o", "jsonpath={.metadata.resourceVersion} {.data}")
	if err != nil {
		return "", nil, err
	}
	version, encoded, _ := strings.Cut(strings.TrimSpace(out), " ")
	var raw map[string]string
	if err := json.Unmarshal([]byte(encoded), &raw); err != nil {
		return "", nil, fmt.Errorf("the managed Secret's data is not a JSON object of strings: %w", err)
	}
	data := make(map[string]string, len(raw))
	for k, v := range raw {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", nil, fmt.Errorf("the managed Secret's %s entry is not base64: %w", k, err)
		}
		data[k] = string(b)
	}
	return version, data, nil
}

// maskJDBC shows a JDBC URL with the password parameter's value replaced.
var jdbcPassword = regexp.MustCompile(`([?&]password=)[^&]*`)

func maskJDBC(url string) string {
	return jdbcPassword.ReplaceAllString(url, "${1}xxxxx")
}
