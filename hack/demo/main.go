// Command demo shows the operator end to end on one machine, and is the end-to-end test
// (`make demo`, `make e2e`). It starts a local control plane, a real PostgreSQL server that
// accepts only TLS and SCRAM, and the xpander API stand-in; it runs the operator against
// them, applies the sample, lists a Deployment in its spec.rolloutRestartTargets, connects
// with psql using only what the operator wrote into the managed Secret, then rotates the
// database password, requests a sync with the sync-request annotation, and checks that the
// operator carries the new connection to the Secret while the old one stops working, and
// restarts the Deployment once for it: not on the first sync, not on a later sync that
// finds the same credential. Before and after the rotation, six clients log in with nothing
// but the Secret's entries: psql with the URI, with the PG* variables and with the pgpass
// line, and programs using pgx (Go), pgjdbc (Java) and node-postgres (Node.js) from
// hack/consumers, which the demo builds first. Everything it starts is stopped again, on
// failure and on Ctrl-C too.
//
//	go run ./hack/demo [--ci] [--keep] [--workdir DIR] [--bin-dir bin] [--assets DIR] [--pg-bin-dir DIR] [--jdbc-jar FILE]
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Names from config/samples, which the demo applies as a user would.
const (
	sampleFile    = "config/samples/database_v1alpha1_xpanderdatabase.yaml"
	crdFile       = "config/crd/bases/database.xpander.ai_xpanderdatabases.yaml"
	crdName       = "xpanderdatabases.database.xpander.ai"
	namespace     = "default"
	objectRef     = "xpanderdatabase/xpander-db"
	keySecret     = "xpander-api-key"
	keyEntry      = "api-key"
	managedSecret = "xpander-db-connection"
)

// The database behind the stand-in's answer, and the answer's fixed fields.
const (
	databaseName = "xpander"
	roleName     = "xpander_app"
	databaseID   = "still-meadow-47437464"
)

// runTimeout bounds the whole run, so that a hung step cannot hold CI for long. It leaves
// room for building the client programs with empty Go and npm caches.
const runTimeout = 6 * time.Minute

type options struct {
	ci      bool
	keep    bool
	workdir string
	binDir  string
	assets  string
	pgBin   string
	jdbcJar string
}

func main() {
	var o options
	flag.BoolVar(&o.ci, "ci", false, "end-to-end test mode: the same checks, fewer explanations")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory after a successful run")
	flag.StringVar(&o.workdir, "workdir", "", "work directory for logs, kubeconfig and the database "+
		"(must be new or empty; default a fresh directory under $TMPDIR)")
	flag.StringVar(&o.binDir, "bin-dir", "bin", "directory holding manager and xpander-standin (`make build`)")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"),
		"directory holding the envtest kube-apiserver and etcd (`make envtest`); default $KUBEBUILDER_ASSETS")
	flag.StringVar(&o.pgBin, "pg-bin-dir", "", "PostgreSQL server binaries (default the newest /usr/lib/postgresql/*/bin)")
	flag.StringVar(&o.jdbcJar, "jdbc-jar", defaultJDBCJar, "the pgjdbc driver's jar (Debian's libpostgresql-jdbc-java)")
	flag.Parse()
	os.Exit(run(o))
}

func run(o options) int {
	// A reader that goes away (`make demo | head`) must not kill the demo before it has
	// stopped what it started: with SIGPIPE ignored a write just fails.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()

	d := &demo{opts: o, out: os.Stdout}
	began := time.Now()
	err := d.setup()
	if err == nil {
		err = d.runSteps(ctx)
	}
	stopErr := d.stopAll()
	elapsed := time.Since(began).Round(100 * time.Millisecond)

	switch {
	case err != nil:
		code := 1
		if errors.Is(err, context.Canceled) {
			err, code = errors.New("interrupted"), 130
		}
		d.fail(err)
		return code
	case stopErr != nil:
		d.fail(fmt.Errorf("stopping what the demo started: %w", stopErr))
		return 1
	}
	d.summary(elapsed)
	if d.createdWork && !o.keep {
		if err := os.RemoveAll(d.work); err != nil {
			fmt.Fprintf(d.out, "could not remove the work directory %s: %v\n", d.work, err)
			return 1
		}
	} else {
		fmt.Fprintf(d.out, "work directory kept: %s\n", d.work)
	}
	return 0
}

// demo holds what the steps start and learn.
type demo struct {
	opts options
	out  io.Writer
	step int

	work        string
	createdWork bool
	repo        string
	binDir      string
	secrets     masker
	stops       []stopper
	timings     []string
	facts       []string

	cluster   *cluster
	pg        *postgres
	standin   *child
	manager   *child
	psqlBin   string
	pgAccount serverAccount
	tools     tools
	built     built

	apiKey          string
	orgID           string
	answersPath     string
	standinURL      string
	standinCA       string
	password        string
	uri             string
	secretVersion   string
	firstPassword   string
	rotationLatency time.Duration
	resyncStep      int

	firstFingerprint string // status.credentialFingerprint after the first sync
	workloadVersion  string // the Deployment's resourceVersion as last checked
}

type stopper struct {
	name string
	stop func() error
}

// setup resolves paths and creates the work directory.
func (d *demo) setup() error {
	var err error
	if d.repo, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(d.repo, sampleFile)); err != nil {
		return fmt.Errorf("run the demo from the repository root (hack/demo.sh does): %w", err)
	}
	if d.binDir, err = filepath.Abs(d.opts.binDir); err != nil {
		return err
	}
	for _, name := range []string{"manager", "xpander-standin"} {
		if _, err := os.Stat(filepath.Join(d.binDir, name)); err != nil {
			return fmt.Errorf("no %s in %s (run `make build`): %w", name, d.binDir, err)
		}
	}
	if d.opts.assets == "" {
		return errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS or pass --assets (`make envtest` builds them)")
	}
	if d.opts.assets, err = filepath.Abs(d.opts.assets); err != nil {
		return err
	}
	if d.opts.pgBin == "" {
		if d.opts.pgBin, err = findPostgresBin(); err != nil {
			return err
		}
	}
	if d.pgAccount, err = lookupServerAccount(); err != nil {
		return err
	}
	d.psqlBin = filepath.Join(d.opts.pgBin, "psql")
	if _, err := os.Stat(d.psqlBin); err != nil {
		if d.psqlBin, err = exec.LookPath("psql"); err != nil {
			return fmt.Errorf("psql is needed: %w", err)
		}
	}
	if d.tools, err = findTools(d.opts.jdbcJar); err != nil {
		return err
	}

	parent := os.TempDir()
	if d.opts.workdir != "" {
		if d.work, err = filepath.Abs(d.opts.workdir); err != nil {
			return err
		}
		parent = filepath.Dir(d.work)
	}
	if err := d.pgAccount.canEnter(parent); err != nil {
		return err
	}
	if d.opts.workdir == "" {
		if d.work, err = os.MkdirTemp("", "xpander-demo-"); err != nil {
			return err
		}
	} else {
		// The work directory is removed after a successful run, so it must hold nothing else.
		entries, err := os.ReadDir(d.work)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("--workdir %s is not empty", d.work)
		}
		if err := os.Mkdir(d.work, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
	}
	d.createdWork = true
	// Others may pass through (the database runs as the postgres OS user and lives in a
	// subdirectory of its own) but not list it; every file in it is private to its owner.
	if err := os.Chmod(d.work, 0o711); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "work directory: %s\n", d.work)
	return nil
}

func (d *demo) runSteps(ctx context.Context) error {
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"Build the pgx, pgjdbc and node-postgres clients in hack/consumers", d.buildConsumers},
		{"Start a local control plane (etcd and kube-apiserver from envtest)", d.startControlPlane},
		{"Start PostgreSQL over TLS with a SCRAM login role", d.startPostgres},
		{"Start the xpander API stand-in over TLS", d.startStandin},
		{"Install the CRD, start the operator and apply the sample", d.startOperator},
		{"Create Deployment " + workloadName + " and list it in spec.rolloutRestartTargets", d.addRestartTarget},
		{"Set the API key, wait for Ready, connect with the Secret's URI", d.connect},
		{"Log in with six clients, each given only the Secret's entries", d.consumersFirst},
		{"Check that an unchanged sync leaves the Secret and the Deployment alone", d.resyncUnchanged},
		{"Rotate the password; follow it to the Secret and the Deployment", d.rotate},
		{"Request another sync: the same credential restarts nothing", d.requestAgain},
		{"Log in again with the six clients after the rotation", d.consumersRotated},
		{"Check that no secret reached logs, status or events", d.checkLeaks},
	}
	for _, s := range steps {
		d.step++
		fmt.Fprintf(d.out, "\n==> %d. %s\n", d.step, s.title)
		began := time.Now()
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", d.step, s.title, err)
		}
		took := time.Since(began).Round(100 * time.Millisecond)
		d.timings = append(d.timings, fmt.Sprintf("%2d. %-70s %6s", d.step, s.title, took))
	}
	return nil
}

// saw prints something the demo observed.
func (d *demo) saw(format string, args ...any) {
	fmt.Fprintf(d.out, "    %s\n", d.secrets.mask(fmt.Sprintf(format, args...)))
}

// note prints an explanation; --ci leaves them out.
func (d *demo) note(format string, args ...any) {
	if !d.opts.ci {
		fmt.Fprintf(d.out, "    # %s\n", fmt.Sprintf(format, args...))
	}
}

// shell prints a command line as a user would type it; --ci leaves them out.
func (d *demo) shell(format string, args ...any) {
	if !d.opts.ci {
		fmt.Fprintf(d.out, "    $ %s\n", d.secrets.mask(fmt.Sprintf(format, args...)))
	}
}

// block prints a multi-line output indented; --ci leaves it out.
func (d *demo) block(text string) {
	if d.opts.ci {
		return
	}
	for _, line := range strings.Split(strings.TrimRight(d.secrets.mask(text), "\n"), "\n") {
		fmt.Fprintf(d.out, "      %s\n", line)
	}
}

func (d *demo) onStop(name string, stop func() error) {
	d.stops = append(d.stops, stopper{name: name, stop: stop})
}

// stopAll stops what the steps started, the last started first.
func (d *demo) stopAll() error {
	if len(d.stops) == 0 {
		return nil
	}
	fmt.Fprintf(d.out, "\n==> Stop everything the demo started\n")
	var errs []error
	for i := len(d.stops) - 1; i >= 0; i-- {
		s := d.stops[i]
		if err := s.stop(); err != nil {
			d.saw("%s: %v", s.name, err)
			errs = append(errs, err)
			continue
		}
		d.saw("stopped %s", s.name)
	}
	d.stops = nil
	return errors.Join(errs...)
}

// fail reports err with the tails of the logs most likely to explain it.
func (d *demo) fail(err error) {
	fmt.Fprintf(d.out, "\nFAILED: %s\n", d.secrets.mask(err.Error()))
	if !d.createdWork {
		return
	}
	for _, l := range []struct {
		path  string
		lines int
	}{
		{filepath.Join(d.work, "manager.log"), 40},
		{filepath.Join(d.work, "xpander-standin.log"), 10},
		{filepath.Join(d.work, "postgres", "postgres.log"), 15},
	} {
		data, err := os.ReadFile(l.path)
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(d.out, "\n--- last %d lines of %s ---\n%s\n", l.lines, l.path,
			d.secrets.mask(lastLines(string(data), l.lines)))
	}
	fmt.Fprintf(d.out, "\nwork directory kept for debugging: %s (control-plane.log, kubeconfig, answers.json, ...)\n", d.work)
}

func (d *demo) summary(elapsed time.Duration) {
	fmt.Fprintf(d.out, "\n==> Summary: PASS in %s\n", elapsed)
	for _, f := range d.facts {
		fmt.Fprintf(d.out, "    - %s\n", d.secrets.mask(f))
	}
	fmt.Fprintf(d.out, "    step timings:\n")
	for _, t := range d.timings {
		fmt.Fprintf(d.out, "      %s\n", t)
	}
}

// 2. The control plane.
func (d *demo) startControlPlane(ctx context.Context) error {
	d.note("etcd and kube-apiserver only: no scheduler, no kubelet; the operator runs as a local process")
	c, err := startCluster(d.opts.assets, d.work)
	if err != nil {
		return err
	}
	d.cluster = c
	d.onStop("control plane (kube-apiserver, etcd)", c.stop)
	d.saw("kube-apiserver serving at %s (binaries from %s)", c.host, d.opts.assets)
	d.saw("kubeconfig for user demo-admin (group system:masters): %s", c.kubeconfig)

	out, err := c.kubectl(ctx, "", 30*time.Second, "get", "namespace", namespace, "-o", "name")
	if err != nil {
		return err
	}
	d.saw("%s reaches it: %s", c.kubectlBin, strings.TrimSpace(out))
	return ctx.Err()
}

// 3. The database.
func (d *demo) startPostgres(ctx context.Context) error {
	pg, err := newPostgres(d.opts.pgBin, filepath.Join(d.work, "postgres"), d.pgAccount)
	if err != nil {
		return err
	}
	if err := pg.initialise(ctx); err != nil {
		return err
	}
	d.pg = pg
	d.onStop("PostgreSQL (pg_ctl stop --mode=fast)", pg.stop)
	// The server's self-signed certificate is its own CA; Node.js is handed it (step 8).
	d.built.pgCA = filepath.Join(d.work, "postgres-ca.pem")
	if err := os.WriteFile(d.built.pgCA, pg.certPEM, 0o600); err != nil {
		return err
	}
	if err := pg.start(ctx); err != nil {
		return err
	}

	// The password has the characters that break naive URI building: '@' and '/' end the
	// userinfo, '%' starts an escape, '+' is not a space in a URI, ':' separates the user.
	d.password = "p@ss/w%rd+1:Z#" + randomHex(3)
	d.secrets.add(secretForms(d.password)...)
	_, err = pg.admin(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s;\nCREATE DATABASE %s OWNER %s;\n",
		quoteIdent(roleName), quoteLiteral(d.password), quoteIdent(databaseName), quoteIdent(roleName)))
	if err != nil {
		return fmt.Errorf("create role and database: %w", err)
	}
	settings, err := pg.admin(ctx, fmt.Sprintf(
		"SELECT current_setting('server_version'), current_setting('ssl'), current_setting('password_encryption'),"+
			" (SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = %s)", quoteLiteral(roleName)))
	if err != nil {
		return err
	}
	f := strings.Split(settings, "|")
	if len(f) != 4 || f[1] != "on" || f[2] != "scram-sha-256" || f[3] != "SCRAM-SHA-256$" {
		return fmt.Errorf("unexpected server settings (version|ssl|password_encryption|hash): %q", settings)
	}
	if d.uri, err = connectionURI(roleName, d.password, pg.port, databaseName); err != nil {
		return err
	}
	d.saw("PostgreSQL %s on 127.0.0.1:%d as OS user %s, data in %s", f[0], pg.port, pg.account.name, pg.dataDir)
	d.saw("ssl=%s password_encryption=%s; role %s stores a SCRAM-SHA-256 verifier", f[1], f[2], roleName)
	d.saw("pg_hba.conf: TCP only as hostssl with scram-sha-256, hostnossl rejected")
	d.saw("database %q owned by role %q; the password has @ / %% + : # in it", databaseName, roleName)

	// The server must turn away a connection without TLS, even with the right password.
	plain := strings.Replace(d.uri, "sslmode=require", "sslmode=disable", 1)
	res, err := d.psql(ctx, plain, "SELECT 1")
	if err == nil {
		return errors.New("the server accepted a connection without TLS")
	}
	if !strings.Contains(res.stderr, "no encryption") {
		return fmt.Errorf("a connection without TLS failed, but not for want of TLS: %w", err)
	}
	d.saw("a connection with sslmode=disable is refused: %s", firstLine(pgError(res.stderr)))
	d.facts = append(d.facts, fmt.Sprintf("PostgreSQL %s over TLS with SCRAM on 127.0.0.1:%d", f[0], pg.port))
	return ctx.Err()
}

// 4. The API stand-in.
func (d *demo) startStandin(ctx context.Context) error {
	d.apiKey = "xpk-demo-" + randomHex(16)
	d.secrets.add(d.apiKey)
	d.orgID = newUUID()
	d.answersPath = filepath.Join(d.work, "answers.json")
	if err := d.writeAnswers(d.uri); err != nil {
		return err
	}
	d.standinCA = filepath.Join(d.work, "xpander-standin-ca.pem")
	urlPath := filepath.Join(d.work, "xpander-standin.url")
	c, err := startChild("xpander API stand-in", filepath.Join(d.work, "xpander-standin.log"), baseEnv(),
		filepath.Join(d.binDir, "xpander-standin"), "--listen=127.0.0.1:0", "--answers="+d.answersPath,
		"--ca-out="+d.standinCA, "--url-out="+urlPath)
	if err != nil {
		return err
	}
	d.standin = c
	d.onStop("xpander API stand-in (pid "+fmt.Sprint(c.cmd.Process.Pid)+")", func() error { return c.stop(10 * time.Second) })

	err = poll(ctx, 15*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		if gone, err := c.exited(); gone {
			return false, "", fmt.Errorf("the stand-in exited: %v", err)
		}
		data, err := os.ReadFile(urlPath)
		d.standinURL = strings.TrimSpace(string(data))
		return err == nil && strings.HasPrefix(d.standinURL, "https://127.0.0.1:"), "no URL written yet", nil
	})
	if err != nil {
		return err
	}
	d.saw("serving GET /v1/misc/db at %s (pid %d), certificate in %s", d.standinURL, c.cmd.Process.Pid, d.standinCA)

	got, err := d.askStandin(ctx, d.apiKey)
	if err != nil {
		return err
	}
	if got != d.uri {
		return fmt.Errorf("the stand-in answers the demo key with %s, not %s", maskURI(got), maskURI(d.uri))
	}
	d.saw("answers the demo API key with id %q, name \"org_%s\", uri %s", databaseID, d.orgID, maskURI(got))
	if _, err := d.askStandin(ctx, "replace-with-your-xpander-api-key"); err == nil || !strings.Contains(err.Error(), "401") {
		return fmt.Errorf("the stand-in should refuse the sample's placeholder key with 401, got: %v", err)
	}
	d.saw("refuses any other key, such as the sample's placeholder, with 401")
	return ctx.Err()
}

// 5. The CRD, the operator and the sample.
func (d *demo) startOperator(ctx context.Context) error {
	c := d.cluster
	d.shell("kubectl apply --server-side -f %s", crdFile)
	if _, err := c.kubectl(ctx, "", 30*time.Second, "apply", "--server-side", "-f", filepath.Join(d.repo, crdFile)); err != nil {
		return err
	}
	if _, err := c.kubectl(ctx, "", 40*time.Second, "wait", "--for=condition=Established",
		"crd/"+crdName, "--timeout=30s"); err != nil {
		return err
	}
	d.saw("CRD %s installed and established", crdName)

	args := []string{
		filepath.Join(d.binDir, "manager"),
		"--xpander-api-url=" + d.standinURL,
		"--xpander-ca-file=" + d.standinCA,
		"--leader-election-namespace=" + namespace,
		"--health-probe-bind-address=0",
		"--metrics-bind-address=0",
	}
	d.shell("KUBECONFIG=%s %s", c.kubeconfig, strings.Join(args, " "))
	m, err := startChild("operator", filepath.Join(d.work, "manager.log"), c.processEnv(), args...)
	if err != nil {
		return err
	}
	d.manager = m
	d.onStop("operator (pid "+fmt.Sprint(m.cmd.Process.Pid)+")", func() error { return m.stop(40 * time.Second) })
	d.saw("operator running (pid %d), log in %s", m.cmd.Process.Pid, m.logPath)

	d.shell("kubectl apply --server-side -f %s", sampleFile)
	out, err := c.kubectl(ctx, "", 30*time.Second, "apply", "--server-side", "-f", filepath.Join(d.repo, sampleFile))
	if err != nil {
		return err
	}
	d.block(out)

	d.note("the sample's Secret holds a placeholder key, which the API refuses; the operator says so and waits")
	reason, err := d.waitReady(ctx, "False", 30*time.Second)
	if err != nil {
		return err
	}
	if reason != "Unauthorized" {
		return fmt.Errorf("with the placeholder key Ready is False for reason %q, want Unauthorized", reason)
	}
	d.saw("with the placeholder key: Ready=False reason=%s", reason)
	return ctx.Err()
}

// setAPIKey puts the demo's API key into the key Secret, as a user would.
func (d *demo) setAPIKey(ctx context.Context) error {
	c := d.cluster
	keyFile := filepath.Join(d.work, "api-key")
	if err := os.WriteFile(keyFile, []byte(d.apiKey), 0o600); err != nil {
		return err
	}
	d.note("put the real key into the Secret, as a user would, without it appearing on a command line")
	d.shell("kubectl create secret generic %s --from-file=%s=%s --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -",
		keySecret, keyEntry, keyFile)
	manifest, err := c.kubectl(ctx, "", 30*time.Second, "create", "secret", "generic", keySecret, "-n", namespace,
		"--from-file="+keyEntry+"="+keyFile, "--dry-run=client", "-o", "yaml")
	if err != nil {
		return err
	}
	if _, err := c.kubectl(ctx, manifest, 30*time.Second, "apply", "--server-side", "--force-conflicts", "-f", "-"); err != nil {
		return err
	}
	d.saw("Secret %s/%s now holds the demo API key", namespace, keySecret)
	return nil
}

// 7. The first sync and connection.
func (d *demo) connect(ctx context.Context) error {
	if err := d.setAPIKey(ctx); err != nil {
		return err
	}
	began := time.Now()
	d.shell("kubectl wait --for=condition=Ready %s --timeout=60s", objectRef)
	if _, err := d.cluster.kubectl(ctx, "", 70*time.Second, "wait", "--for=condition=Ready", objectRef,
		"--timeout=60s"); err != nil {
		return d.withOperatorState(err)
	}
	d.saw("Ready=True %s after the key was set", time.Since(began).Round(100*time.Millisecond))
	if !d.opts.ci {
		out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", objectRef, "-o", "wide")
		if err != nil {
			return err
		}
		d.block(out)
	}

	d.shell("kubectl get secret %s -o jsonpath='{.data.uri}' | base64 -d", managedSecret)
	version, uri, err := d.readManagedSecret(ctx)
	if err != nil {
		return err
	}
	if uri != d.uri {
		return fmt.Errorf("the managed Secret's uri is %s, but the API answered %s", maskURI(uri), maskURI(d.uri))
	}
	d.secretVersion = version
	d.saw("Secret %s (resourceVersion %s) uri: %s", managedSecret, version, maskURI(uri))
	d.saw("it is byte for byte the URI the API answered")

	if err := d.connectWith(ctx, uri); err != nil {
		return err
	}
	d.firstPassword = d.password
	d.facts = append(d.facts, "psql connected over TLS with the managed Secret's uri, password containing @ / % + : #")

	d.note("the first sync is not a rotation: the Deployment listed in step %d must not be restarted", d.step-1)
	o, err := d.readObject(ctx)
	if err != nil {
		return err
	}
	if o.fingerprint == "" {
		return errors.New("status.credentialFingerprint is not set after the first sync")
	}
	if o.lastRotationTime != "" {
		return fmt.Errorf("status.lastRotationTime is %s after the first sync, which is not a rotation", o.lastRotationTime)
	}
	d.firstFingerprint = o.fingerprint
	d.saw("status.credentialFingerprint %s, no status.lastRotationTime", short(o.fingerprint))
	w, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	if w.fingerprint != "" {
		return fmt.Errorf("the first sync restarted %s: its pod template has %s=%s",
			workloadRef, fingerprintAnnotation, w.fingerprint)
	}
	d.workloadVersion = w.version
	d.saw("%s pod template has no %s annotation (resourceVersion %s)", workloadRef, fingerprintAnnotation, w.version)
	return ctx.Err()
}

// 9. A sync that finds nothing new.
func (d *demo) resyncUnchanged(ctx context.Context) error {
	d.resyncStep = d.step
	d.note("a spec change makes the operator ask the API at once; the answer is the same, so the Secret must not be written")
	gen, err := d.patchRefresh(ctx, "2h")
	if err != nil {
		return err
	}
	if err := d.waitObserved(ctx, gen); err != nil {
		return err
	}
	version, uri, err := d.readManagedSecret(ctx)
	if err != nil {
		return err
	}
	if uri != d.uri || version != d.secretVersion {
		return fmt.Errorf("the Secret changed although the API's answer did not (resourceVersion %s -> %s)",
			d.secretVersion, version)
	}
	d.saw("generation %s synced and Ready; Secret resourceVersion still %s", gen, version)
	w, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	if w.version != d.workloadVersion || w.fingerprint != "" {
		return fmt.Errorf("%s changed although the credential did not (resourceVersion %s -> %s)",
			workloadRef, d.workloadVersion, w.version)
	}
	d.saw("%s resourceVersion still %s, no restart", workloadRef, w.version)
	return ctx.Err()
}

// 8. The clients, before the rotation.
func (d *demo) consumersFirst(ctx context.Context) error {
	d.note("each client gets the Secret's entries a Pod would, as environment variables or a file, and nothing else")
	return d.checkConsumers(ctx, true)
}

// 10. The rotation.
func (d *demo) rotate(ctx context.Context) error {
	oldURI, oldVersion := d.uri, d.secretVersion

	// Characters that trip up a second round of decoding ("%2F" must stay those three
	// characters) and the ones that end a URI's parts ('?', '#', ';', '=', '&', ' ').
	newPassword := "n3w?p@ss/%2F+;=& #" + randomHex(3)
	d.secrets.add(secretForms(newPassword)...)
	d.shell("psql -c \"ALTER ROLE %s PASSWORD '...'\"   # as the database superuser", roleName)
	if _, err := d.pg.admin(ctx, fmt.Sprintf("ALTER ROLE %s PASSWORD %s;", quoteIdent(roleName),
		quoteLiteral(newPassword))); err != nil {
		return fmt.Errorf("change the password: %w", err)
	}
	// The new URI also asks for channel binding, which every client must then honour or
	// ignore without failing; libpq and pgx use it, pgjdbc 42.5 and node-postgres do not.
	newURI, err := connectionURI(roleName, newPassword, d.pg.port, databaseName, "channel_binding=require")
	if err != nil {
		return err
	}
	d.password, d.uri = newPassword, newURI
	d.saw("role %s has a new password (with ? @ / %%2F + ; = & space #)", roleName)
	d.saw("and the API's new URI adds channel_binding=require to sslmode=require")

	if err := d.writeAnswers(newURI); err != nil {
		return err
	}
	err = poll(ctx, 15*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		got, err := d.askStandin(ctx, d.apiKey)
		if err != nil {
			return false, "", err
		}
		return got == newURI, "the stand-in still answers the old URI", nil
	})
	if err != nil {
		return err
	}
	d.saw("the stand-in now answers the new URI %s", maskURI(newURI))

	workloadBefore, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	d.note("the operator asks again after refreshInterval (2h now), when the spec or key Secret changes,")
	d.note("or on request: a new value of the sync-request annotation syncs at once; refreshInterval stays 2h")
	began := time.Now()
	request, err := d.requestSync(ctx)
	if err != nil {
		return err
	}
	d.saw("the rotation's sync comes from that request; spec.refreshInterval stays 2h")
	var version, uri string
	err = poll(ctx, 60*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		var err error
		version, uri, err = d.readManagedSecret(ctx)
		if err != nil {
			return false, "", err
		}
		return uri != oldURI, "the managed Secret still holds the old URI", nil
	})
	if err != nil {
		return d.withOperatorState(err)
	}
	d.rotationLatency = time.Since(began).Round(10 * time.Millisecond)
	if uri != newURI {
		return fmt.Errorf("the managed Secret changed to %s, not to the API's new answer %s", maskURI(uri), maskURI(newURI))
	}
	if version == oldVersion {
		return fmt.Errorf("the Secret's uri changed but its resourceVersion %s did not", version)
	}
	d.secretVersion = version
	d.saw("the managed Secret holds the new URI %s after %s", maskURI(uri), d.rotationLatency)
	d.saw("its resourceVersion moved %s -> %s, and only now: the unchanged sync in step %d left it at %s",
		oldVersion, version, d.resyncStep, oldVersion)
	o, err := d.waitSyncHandled(ctx, request)
	if err != nil {
		return err
	}
	d.saw("status.lastHandledSyncRequest is %s and Ready=True", o.lastHandledSyncRequest)
	if err := d.checkRestarted(ctx, o, workloadBefore); err != nil {
		return err
	}

	if err := d.connectWith(ctx, newURI); err != nil {
		return err
	}
	d.shell("psql \"%s\" -Atc 'SELECT 1'   # the URI from before the rotation", maskURI(oldURI))
	res, err := d.psql(ctx, oldURI, "SELECT 1")
	if err == nil {
		return errors.New("the old URI still connects after the password changed")
	}
	if !strings.Contains(res.stderr, "password authentication failed") {
		return fmt.Errorf("the old URI failed, but not on its password: %w", err)
	}
	d.saw("the old URI is refused (psql exit %d): %s", res.exitCode, firstLine(pgError(res.stderr)))

	if !d.opts.ci {
		out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", "events", "-n", namespace,
			"--field-selector=involvedObject.kind=XpanderDatabase", "--sort-by=.metadata.creationTimestamp")
		if err != nil {
			return err
		}
		d.shell("kubectl get events --field-selector=involvedObject.kind=XpanderDatabase")
		d.block(out)
	}
	d.facts = append(d.facts, fmt.Sprintf("rotation reached the managed Secret %s after the sync request; "+
		"new URI connects, old URI refused; %s restarted with the new fingerprint, Rotated event", d.rotationLatency, workloadRef))
	return ctx.Err()
}

// 12. The clients, after the rotation.
func (d *demo) consumersRotated(ctx context.Context) error {
	return d.checkConsumers(ctx, false)
}

// 13. Nothing secret in what the operator writes for people to read.
func (d *demo) checkLeaks(ctx context.Context) error {
	sources := map[string]func() (string, error){
		"operator log": func() (string, error) { return readString(d.manager.logPath) },
		"stand-in log": func() (string, error) { return readString(d.standin.logPath) },
		"object (YAML)": func() (string, error) {
			return d.cluster.kubectl(ctx, "", 15*time.Second, "get", objectRef, "-o", "yaml")
		},
		"events (YAML)": func() (string, error) {
			return d.cluster.kubectl(ctx, "", 15*time.Second, "get", "events", "-A", "-o", "yaml")
		},
		"Deployment (YAML)": func() (string, error) {
			return d.cluster.kubectl(ctx, "", 15*time.Second, "get", "deployment", workloadName, "-n", namespace, "-o", "yaml")
		},
	}
	// Each password as typed, as a URI carries it, and as encoding/json would write it (it
	// turns '&' into \u0026).
	secrets := map[string]string{"API key": d.apiKey}
	for name, password := range map[string]string{"first password": d.firstPassword, "new password": d.password} {
		quoted, _ := json.Marshal(password)
		secrets[name] = password
		secrets[name+", URI-encoded"] = escapeUserinfo(password)
		secrets[name+", JSON-escaped"] = strings.Trim(string(quoted), `"`)
		secrets[name+", pgpass-escaped"] = pgpassEscape(password)
	}
	for _, name := range []string{"operator log", "stand-in log", "object (YAML)", "events (YAML)", "Deployment (YAML)"} {
		text, err := sources[name]()
		if err != nil {
			return err
		}
		for what, value := range secrets {
			if strings.Contains(text, value) {
				return fmt.Errorf("the %s contains the %s", name, what)
			}
		}
		d.saw("%-17s %6d bytes: no API key, no password", name, len(text))
	}
	d.facts = append(d.facts, "no API key or password in the operator's log, status or events")
	return ctx.Err()
}

// connectWith runs psql with uri, checks it is logged in as the role and that the session
// is encrypted.
func (d *demo) connectWith(ctx context.Context, uri string) error {
	d.shell("psql \"%s\" -Atc '%s'", maskURI(uri), consumerQuery)
	res, err := d.psql(ctx, uri, consumerQuery)
	if err != nil {
		return fmt.Errorf("connect with the managed Secret's URI: %w", err)
	}
	if got := strings.TrimSpace(res.stdout); got != roleName {
		return fmt.Errorf("%s returned %q, want %q", consumerQuery, got, roleName)
	}
	d.saw("%s -> %s", consumerQuery, strings.TrimSpace(res.stdout))
	res, err = d.psql(ctx, uri, "SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl")
	if err != nil {
		return err
	}
	tls := strings.TrimSpace(res.stdout)
	if tls == "" {
		return errors.New("the session is not encrypted")
	}
	d.saw("the session is encrypted: %s", strings.ReplaceAll(tls, "|", " "))
	return nil
}

// psql runs one query with psql and a connection URI, as a user would. psql never prompts
// (-w) and reads no ~/.psqlrc (-X); PG* variables are not passed on, so the URI alone decides.
func (d *demo) psql(ctx context.Context, uri, query string) (result, error) {
	return command{
		argv:    []string{d.psqlBin, "-X", "-w", uri, "-Atc", query},
		env:     append(baseEnv(), "PGCONNECT_TIMEOUT=10", "LC_ALL=C"),
		timeout: 20 * time.Second,
	}.run(ctx)
}

// readManagedSecret returns the managed Secret's resourceVersion and decoded uri entry.
func (d *demo) readManagedSecret(ctx context.Context) (version, uri string, err error) {
	out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", "secret", managedSecret, "-n", namespace,
		"-o", "jsonpath={.metadata.resourceVersion} {.data.uri}")
	if err != nil {
		return "", "", err
	}
	version, encoded, _ := strings.Cut(strings.TrimSpace(out), " ")
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) == 0 {
		return "", "", fmt.Errorf("the managed Secret has no base64 uri entry")
	}
	return version, string(raw), nil
}

// waitReady waits for the Ready condition to have status and returns its reason.
func (d *demo) waitReady(ctx context.Context, status string, timeout time.Duration) (string, error) {
	var reason string
	err := poll(ctx, timeout, 250*time.Millisecond, func() (bool, string, error) {
		out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", objectRef, "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}`)
		if err != nil {
			return false, "", err
		}
		got, r, _ := strings.Cut(strings.TrimSpace(out), " ")
		reason = r
		return got == status, fmt.Sprintf("Ready is %q (reason %q)", got, r), nil
	})
	if err != nil {
		return "", d.withOperatorState(err)
	}
	return reason, nil
}

// waitObserved waits until the operator has acted on generation and is Ready.
func (d *demo) waitObserved(ctx context.Context, generation string) error {
	err := poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", objectRef, "-o",
			`jsonpath={.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return false, "", err
		}
		got := strings.TrimSpace(out)
		return got == generation+" True", fmt.Sprintf("observedGeneration and Ready are %q, want generation %s and True", got, generation), nil
	})
	return d.withOperatorState(err)
}

// patchRefresh sets spec.refreshInterval and returns the object's new generation.
func (d *demo) patchRefresh(ctx context.Context, interval string) (string, error) {
	return d.patchSpec(ctx, fmt.Sprintf(`{"spec":{"refreshInterval":%q}}`, interval))
}

// patchSpec applies a merge patch to the object and returns its new generation.
func (d *demo) patchSpec(ctx context.Context, patch string) (string, error) {
	d.shell("kubectl patch %s --type merge -p '%s'", objectRef, patch)
	out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "patch", objectRef, "-n", namespace,
		"--type=merge", "-p", patch, "-o", "jsonpath={.metadata.generation}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// withOperatorState adds to err whether the operator is still running, which is the first
// thing to know when a wait on it fails.
func (d *demo) withOperatorState(err error) error {
	if err == nil || d.manager == nil {
		return err
	}
	if gone, exitErr := d.manager.exited(); gone {
		return fmt.Errorf("%w (the operator exited: %v)", err, exitErr)
	}
	return err
}

// writeAnswers points the stand-in's answer for the demo key at uri. The file is replaced by
// a rename, so the stand-in never reads half of it.
func (d *demo) writeAnswers(uri string) error {
	answers := map[string]any{
		d.apiKey: map[string]any{
			"id":              databaseID,
			"name":            "org_" + d.orgID,
			"organization_id": d.orgID,
			"connection_uri":  map[string]string{"uri": uri},
		},
	}
	data, err := json.MarshalIndent(answers, "", "  ")
	if err != nil {
		return err
	}
	tmp := d.answersPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.answersPath)
}

func readString(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// pgError keeps the server's part of a libpq error ("FATAL:  ...").
func pgError(stderr string) string {
	if _, msg, ok := strings.Cut(stderr, "FATAL:"); ok {
		return "FATAL: " + strings.TrimSpace(msg)
	}
	return strings.TrimSpace(stderr)
}
