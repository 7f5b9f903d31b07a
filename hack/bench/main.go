// Command bench measures how long the operator takes to bring many XpanderDatabases to
// Ready, what that costs the Kubernetes API server and the xpander API, and how it compares
// with the raw floor: as many Secrets of the same size written straight to the same API
// server, as many at once as the operator's --max-concurrent-reconciles.
//
// Each run starts a fresh local control plane (etcd and kube-apiserver from envtest), creates
// N XpanderDatabases spread over 10 namespaces using K distinct API keys, and starts one
// fresh operator process (bin/manager) against the xpander API stand-in, which bench serves
// itself on 127.0.0.1 and which counts the calls. bench watches the objects, checks their
// Secrets once all are Ready, and reads the operator's metrics, the API server's metrics and
// /proc. With --refresh (the default) the objects have refreshInterval 1m and the run goes on
// until every object has synced once more on its schedule, with nothing changed in between.
// The operator is then stopped and the floor is written. docs/performance.md has the method
// and the results.
//
// Progress goes to standard error; the tables, and then one benchstat line per run, to
// standard output.
//
//	go run ./hack/bench [--objects 100,1000] [--keys 1,N] [--concurrency 4,8]
//	                    [--kube-api-qps 50,200 --kube-api-burst 100,400] [--repeats 3]
//	                    [--refresh=false] [--markdown] [--benchstat FILE] [--ci]
//
// --ci runs 100 objects with one key once, and fails unless the first sync made exactly one
// API call and 100 Secret creates and no update, and the scheduled refresh made one API call
// and no Secret write.
//
// NOTE: objects × 1/refreshInterval must stay well below the operator's --kube-api-qps, or
// the scheduled round never ends (docs/performance.md, "Overload"); 1000 objects at the
// default 50 is the most --refresh should be given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

type options struct {
	objects     []int
	keys        []string // numbers, or N for one key per object
	concurrency []int    // empty: the operator's default
	qps, burst  []string // empty: the operator's defaults
	repeats     int
	refresh     bool
	interval    time.Duration
	settle      time.Duration
	apiLatency  time.Duration
	markdown    bool
	benchstat   string
	ci          bool
	timeout     time.Duration
	binDir      string
	assets      string
	keep        bool
}

func main() {
	var o options
	var objects, keys, concurrency, qps, burst string
	flag.StringVar(&objects, "objects", "100,1000", "XpanderDatabases per run (N); a comma-separated list runs each")
	flag.StringVar(&keys, "keys", "1,N", "distinct API keys per run (K), or N for one per object; a list runs each")
	flag.StringVar(&concurrency, "concurrency", "",
		"the operator's --max-concurrent-reconciles, and the floor's creates in flight; a list runs each "+
			"(default: the operator's own default)")
	flag.StringVar(&qps, "kube-api-qps", "", "the operator's --kube-api-qps; a list runs each (default: the operator's)")
	flag.StringVar(&burst, "kube-api-burst", "",
		"the operator's --kube-api-burst, one for each --kube-api-qps (default: the operator's)")
	flag.IntVar(&o.repeats, "repeats", 3, "runs per scenario, each on a fresh control plane")
	flag.BoolVar(&o.refresh, "refresh", true,
		"give the objects refreshInterval 1m and measure the scheduled sync round that follows the first")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "how long after the last object is Ready the operator's RSS is read")
	flag.DurationVar(&o.apiLatency, "api-latency", 0,
		"delay added to everything the operator sends the stand-in, as a network to the real API would")
	flag.BoolVar(&o.markdown, "markdown", false, "print the tables as Markdown")
	flag.StringVar(&o.benchstat, "benchstat", "", "also write the benchstat lines to this file")
	flag.BoolVar(&o.ci, "ci", false, "run 100 objects with one key once and check the counts exactly; exit 1 when one is off")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Hour, "limit for the whole run")
	flag.StringVar(&o.binDir, "bin-dir", "bin", "directory holding the operator's manager binary (`make build`)")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"),
		"directory holding the envtest kube-apiserver and etcd; default $KUBEBUILDER_ASSETS, else bin/k8s/<newest>")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, kubeconfigs) after a successful run")
	flag.Parse()

	if o.ci {
		objects, keys, o.repeats, o.refresh = "100", "1", 1, true
		if o.timeout > 10*time.Minute {
			o.timeout = 10 * time.Minute
		}
	}
	o.interval = time.Minute
	var err error
	if o.objects, err = intList("--objects", objects); err == nil {
		if o.concurrency, err = intList("--concurrency", concurrency); err == nil {
			o.keys, o.qps, o.burst = list(keys), list(qps), list(burst)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Exit(run(o))
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, v := range list(s) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive whole number", name, v)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(o options) int {
	signal.Ignore(syscall.SIGPIPE)
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	b := &bench{opts: o, log: os.Stderr, began: time.Now()}
	err := b.setup()
	if err == nil {
		err = b.runAll(ctx)
	}
	if b.proxy != nil {
		b.proxy.close()
	}
	if b.standin != nil {
		b.standin.Close()
	}
	b.elapsed = time.Since(b.began).Round(time.Second)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		fmt.Fprintf(b.log, "bench: %v\n", err)
		if b.work != "" {
			fmt.Fprintf(b.log, "work directory kept for its logs: %s\n", b.work)
		}
		return 1
	}

	b.report(os.Stdout)
	if o.benchstat != "" {
		if err := os.WriteFile(o.benchstat, []byte(b.benchstatLines()), 0o644); err != nil {
			fmt.Fprintf(b.log, "bench: write %s: %v\n", o.benchstat, err)
			return 1
		}
	}
	fmt.Fprintf(b.log, "run time: %s\n", b.elapsed)
	code := 0
	if o.ci && !b.checkCI(os.Stdout) {
		code = 1
	}
	if o.keep || code != 0 {
		fmt.Fprintf(b.log, "work directory kept: %s\n", b.work)
	} else if err := os.RemoveAll(b.work); err != nil {
		fmt.Fprintf(b.log, "could not remove the work directory %s: %v\n", b.work, err)
	}
	return code
}

// bench holds what bench started and what it measured.
type bench struct {
	opts    options
	log     io.Writer
	began   time.Time
	elapsed time.Duration

	repo, manager, work string
	// defaults are the operator's own flag defaults, read from its --help.
	defaults  map[string]string
	standin   *xpandertest.Server
	apiURL    string // where the operator reaches the stand-in: directly, or through the proxy
	proxy     *latencyProxy
	caFile    string
	runs      int
	scenarios []*scenario
}

// scenario is one combination of the flags' lists, run --repeats times.
type scenario struct {
	objects, keys, concurrency int
	qps, burst                 string
	apiLatency                 time.Duration
	runs                       []*sample
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6s] "+format+"\n", append([]any{time.Since(b.began).Round(time.Second)}, args...)...)
}

// setup checks the flags and paths, reads the operator's defaults, starts the stand-in and
// lays out the scenarios.
func (b *bench) setup() error {
	o := &b.opts
	switch {
	case o.repeats < 1:
		return errors.New("--repeats must be at least 1")
	case len(o.objects) == 0 || len(o.keys) == 0:
		return errors.New("--objects and --keys need at least one value each")
	case len(o.qps) != len(o.burst):
		return errors.New("give as many --kube-api-burst values as --kube-api-qps values")
	}
	for _, k := range o.keys {
		if n, err := strconv.Atoi(k); k != "N" && (err != nil || n < 1) {
			return fmt.Errorf("--keys: %q is neither a positive whole number nor N", k)
		}
	}
	var err error
	if b.repo, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(b.repo, crdDir)); err != nil {
		return fmt.Errorf("run bench from the repository root: %w", err)
	}
	if b.manager, err = filepath.Abs(filepath.Join(o.binDir, "manager")); err != nil {
		return err
	}
	if _, err := os.Stat(b.manager); err != nil {
		return fmt.Errorf("no operator binary (run `make build`): %w", err)
	}
	if b.defaults, err = flagDefaults(b.manager); err != nil {
		return err
	}
	if o.assets == "" {
		matches, _ := filepath.Glob(filepath.Join(b.repo, "bin", "k8s", "*"))
		if len(matches) == 0 {
			return errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS or pass --assets (`make envtest` builds them)")
		}
		o.assets = matches[len(matches)-1]
	}
	if o.assets, err = filepath.Abs(o.assets); err != nil {
		return err
	}
	if b.work, err = os.MkdirTemp("", "xpander-bench-"); err != nil {
		return err
	}
	b.say("work directory: %s", b.work)

	b.standin = xpandertest.NewServer()
	if err := loopbackOnly(b.standin.URL); err != nil {
		return err
	}
	b.caFile = filepath.Join(b.work, "xpander-standin-ca.pem")
	if err := os.WriteFile(b.caFile, b.standin.CACertPEM(), 0o600); err != nil {
		return err
	}
	b.say("xpander API stand-in at %s", b.standin.URL)
	b.apiURL = b.standin.URL
	if o.apiLatency > 0 {
		if b.proxy, err = startLatencyProxy(b.standin.Listener.Addr().String(), o.apiLatency); err != nil {
			return err
		}
		b.apiURL = "https://" + b.proxy.addr()
		b.say("the operator reaches it through %s, %s added to each chunk it sends", b.apiURL, o.apiLatency)
	}

	concurrency := o.concurrency
	if len(concurrency) == 0 {
		n, err := strconv.Atoi(b.defaults["max-concurrent-reconciles"])
		if err != nil {
			return fmt.Errorf("the operator's default --max-concurrent-reconciles: %w", err)
		}
		concurrency = []int{n}
	}
	qps, burst := o.qps, o.burst
	if len(qps) == 0 {
		qps, burst = []string{b.defaults["kube-api-qps"]}, []string{b.defaults["kube-api-burst"]}
	}
	for _, n := range o.objects {
		for _, k := range o.keys {
			keys := n
			if k != "N" {
				keys, _ = strconv.Atoi(k)
			}
			if keys > n {
				return fmt.Errorf("%d keys for %d objects: every key needs an object", keys, n)
			}
			for _, c := range concurrency {
				for i := range qps {
					b.scenarios = append(b.scenarios, &scenario{
						objects: n, keys: keys, concurrency: c, qps: qps[i], burst: burst[i], apiLatency: o.apiLatency,
					})
				}
			}
		}
	}
	return nil
}

// flagDefaults reads the operator's flag defaults from its --help.
func flagDefaults(manager string) (map[string]string, error) {
	out, _ := exec.Command(manager, "--help").CombinedOutput() // --help exits 0 or 2
	m := parseFlagDefaults(string(out))
	for _, want := range []string{"max-concurrent-reconciles", "kube-api-qps", "kube-api-burst"} {
		if m[want] == "" {
			return nil, fmt.Errorf("%s --help names no default for --%s", manager, want)
		}
	}
	return m, nil
}

var (
	flagLine  = regexp.MustCompile(`^\s+-([a-z0-9-]+)`)
	defaultOf = regexp.MustCompile(`\(default "?([^")]*)"?\)`)
)

// parseFlagDefaults reads the "(default ...)" of each flag in the flag package's usage text.
func parseFlagDefaults(usage string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.Split(usage, "\n") {
		if f := flagLine.FindStringSubmatch(line); f != nil {
			name = f[1]
		}
		if d := defaultOf.FindStringSubmatch(line); d != nil && name != "" {
			m[name] = d[1]
		}
	}
	return m
}

// runAll runs every scenario --repeats times. Repeats are interleaved, scenario after
// scenario, so that a change in the machine's load spreads over all scenarios alike.
func (b *bench) runAll(ctx context.Context) error {
	for r := range b.opts.repeats {
		for _, sc := range b.scenarios {
			s, err := b.runOnce(ctx, sc, r+1)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", sc.name(), r+1, err)
			}
			sc.runs = append(sc.runs, s)
		}
	}
	return nil
}

func (sc *scenario) name() string {
	name := fmt.Sprintf("objects=%d/keys=%d/reconciles=%d/qps=%s/burst=%s", sc.objects, sc.keys, sc.concurrency, sc.qps, sc.burst)
	if sc.apiLatency > 0 {
		name += "/api-latency=" + sc.apiLatency.String()
	}
	return name
}

func (sc *scenario) operatorFlags() []string {
	return []string{
		"--max-concurrent-reconciles=" + strconv.Itoa(sc.concurrency),
		"--kube-api-qps=" + sc.qps,
		"--kube-api-burst=" + sc.burst,
	}
}

// sample is what one run measured.
type sample struct {
	ready time.Duration // operator started -> every object Ready with the right Secret
	// startup is the part of ready before the operator's first write was seen: process
	// start, leader election, cache sync.
	startup time.Duration
	floor   floorResult
	first   round // the first sync of every object
	// refresh is the scheduled round that followed, when measured.
	refresh *round
	// rss is VmRSS --settle after the last object was Ready; hwm VmHWM at the end.
	rss, hwm int64
	// load is the one-minute load average when the operator started and when it stopped.
	load [2]float64
	// operatorCPU and serverCPU are the CPU time the operator and the control plane (etcd
	// and kube-apiserver) used until every object was Ready; floorCPU the control plane's
	// while the floor was written.
	operatorCPU, serverCPU, floorCPU time.Duration
}

// round is what one sync of every object cost.
type round struct {
	apiCalls int
	// secretWrites by operation, from the operator's metrics; objectWrites the changes to
	// XpanderDatabases the watch saw.
	secretWrites map[string]int
	objectWrites int
	// client is the operator's rest_client_requests_total by method; server the API
	// server's apiserver_request_total by verb and resource, WATCH left out.
	client, server map[string]int
	// changed counts, per status field, the objects whose scheduled sync changed it.
	changed map[string]int
}

func (r round) clientTotal() int {
	n := 0
	for _, v := range r.client {
		n += v
	}
	return n
}

// serverSecretWrites is the writes to Secrets the API server counted.
func (r round) serverSecretWrites() int {
	n := 0
	for _, verb := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		n += r.server[verb+" secrets"]
	}
	return n
}

func (r round) secretWriteTotal() int {
	n := 0
	for _, v := range r.secretWrites {
		n += v
	}
	return n
}

// reading is the counters at one moment.
type reading struct {
	operator, server metrics
	calls            int
	tracked          progress
}

func (b *bench) read(ctx context.Context, c *cluster, addr string, keys map[string]bool, t *tracker) (reading, error) {
	var r reading
	var err error
	if addr != "" {
		if r.operator, err = scrapeOperator(ctx, addr); err != nil {
			return r, fmt.Errorf("read the operator's metrics: %w", err)
		}
	}
	if r.server, err = c.serverMetrics(ctx); err != nil {
		return r, fmt.Errorf("read the API server's metrics: %w", err)
	}
	for _, call := range b.standin.CallLog() {
		if keys[call.APIKey] {
			r.calls++
		}
	}
	if t != nil {
		r.tracked = t.progress()
	}
	return r, nil
}

// between is the round from reading a to reading b.
func between(a, b reading) round {
	r := round{
		apiCalls:     b.calls - a.calls,
		secretWrites: map[string]int{},
		objectWrites: b.tracked.writes - a.tracked.writes,
		client:       map[string]int{},
		server:       map[string]int{},
	}
	diff := func(into map[string]int, name string, labels ...string) {
		before := a.operator.by(name, labels...)
		for k, v := range b.operator.by(name, labels...) {
			if d := int(v - before[k]); d != 0 {
				into[k] = d
			}
		}
	}
	diff(r.secretWrites, "xpander_db_secret_writes_total", "operation")
	diff(r.client, "rest_client_requests_total", "method")
	before := a.server.by("apiserver_request_total", "verb", "resource", "subresource")
	for k, v := range b.server.by("apiserver_request_total", "verb", "resource", "subresource") {
		verb, res, _ := strings.Cut(k, " ")
		res = strings.TrimSpace(strings.Replace(res, " ", "/", 1))
		res = strings.TrimSuffix(res, "/")
		if d := int(v - before[k]); d != 0 && verb != "WATCH" && res != "" {
			r.server[verb+" "+res] += d
		}
	}
	return r
}

// runOnce is one run of a scenario on a fresh control plane: set up, start the operator and
// wait for the first sync, wait for the scheduled round, stop the operator, write the floor.
func (b *bench) runOnce(ctx context.Context, sc *scenario, repeat int) (s *sample, err error) {
	b.runs++
	r := &benchRun{bench: b, sc: sc, s: &sample{}, dir: filepath.Join(b.work, fmt.Sprintf("%02d", b.runs))}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, err
	}
	b.say("%s, run %d of %d: starting a control plane", sc.name(), repeat, b.opts.repeats)
	if r.cluster, err = startCluster(b.opts.assets, b.repo, r.dir); err != nil {
		return nil, err
	}
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer func() {
		stopWatching()
		if r.operator != nil {
			if stopErr := r.operator.stop(40 * time.Second); stopErr != nil && err == nil {
				err = stopErr
			}
		}
		if stopErr := r.cluster.stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()

	if err := r.createObjects(ctx, watchCtx); err != nil {
		return nil, err
	}

	if err := r.firstSync(ctx); err != nil {
		return nil, err
	}

	if b.opts.refresh {
		if err := r.scheduledRound(ctx); err != nil {
			return nil, err
		}
	}

	if _, r.s.hwm, err = memory(r.operator.pid()); err != nil {
		return nil, err
	}
	r.s.load[1] = loadAverage()
	if err := r.operator.stop(40 * time.Second); err != nil {
		return nil, err
	}
	stopWatching()

	if err := r.writeFloor(ctx); err != nil {
		return nil, err
	}
	return r.s, nil
}

// benchRun holds what one run set up and measured.
type benchRun struct {
	bench   *bench
	sc      *scenario
	s       *sample
	dir     string
	cluster *cluster
	layout  *layout
	keys    map[string]bool // the run's API keys
	tracker *tracker
	// operator is the operator process, metrics its metrics address, controlPlane the CPU
	// meter of kube-apiserver and etcd.
	operator     *process
	metrics      string
	controlPlane cpuMeter
	// start and synced are the counters before the operator started and after the first
	// sync; like the managed Secrets, for the floor to copy.
	start, synced reading
	like          []corev1.Secret
}

// createObjects lays out the run's keys and objects and starts watching the objects.
func (r *benchRun) createObjects(ctx, watchCtx context.Context) error {
	sc := r.sc
	interval := time.Duration(0)
	if r.bench.opts.refresh {
		interval = r.bench.opts.interval
	}
	r.layout = newLayout(sc.objects, sc.keys, interval)
	r.layout.answer(r.bench.standin)
	r.keys = map[string]bool{}
	for _, k := range r.layout.keys {
		r.keys[k] = true
	}
	began := time.Now()
	if err := r.layout.create(ctx, r.cluster.client); err != nil {
		return err
	}
	r.bench.say("  created %d XpanderDatabases with %d key(s) in %d namespaces in %s", sc.objects, sc.keys,
		namespaces, time.Since(began).Round(100*time.Millisecond))

	var err error
	if r.tracker, err = startTracker(watchCtx, r.cluster.client, r.layout.want()); err != nil {
		return err
	}
	r.controlPlane = childrenNamed("kube-apiserver", "etcd")
	if len(r.controlPlane) != 2 {
		return fmt.Errorf("found %d of the control plane's two processes", len(r.controlPlane))
	}
	r.start, err = r.read(ctx, false)
	return err
}

// read takes the counters, the operator's metrics among them when it runs.
func (r *benchRun) read(ctx context.Context, operator bool) (reading, error) {
	addr := ""
	if operator {
		addr = r.metrics
	}
	return r.bench.read(ctx, r.cluster, addr, r.keys, r.tracker)
}

// firstSync starts the operator and waits until every object is Ready, then reads its memory
// and the counters and checks the Secrets.
func (r *benchRun) firstSync(ctx context.Context) error {
	sc, s := r.sc, r.s
	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	r.metrics = "127.0.0.1:" + strconv.Itoa(port)
	argv := append([]string{
		r.bench.manager,
		"--xpander-api-url=" + r.bench.apiURL,
		"--xpander-ca-file=" + r.bench.caFile,
		"--leader-election-namespace=default",
		"--health-probe-bind-address=0",
		"--metrics-bind-address=" + r.metrics,
		"--metrics-secure=false",
	}, sc.operatorFlags()...)
	s.load[0] = loadAverage()
	serverCPU := r.controlPlane.read()
	startedAt := time.Now()
	if r.operator, err = startProcess("operator", filepath.Join(r.dir, "operator.log"),
		childEnv(r.cluster.kubeconfig), argv...); err != nil {
		return err
	}

	// The wait allows 150 ms an object on top of two minutes, for a client held to a low QPS.
	limit := 2*time.Minute + time.Duration(sc.objects)*150*time.Millisecond
	err = poll(ctx, limit, 100*time.Millisecond, func() (bool, string, error) {
		if err := r.operator.exited(); err != nil {
			return false, "", err
		}
		pr := r.tracker.progress()
		return pr.ready == sc.objects, fmt.Sprintf("%d of %d objects Ready", pr.ready, sc.objects), pr.err
	})
	if err != nil {
		return err
	}
	s.serverCPU = r.controlPlane.read() - serverCPU
	if s.operatorCPU, err = cpuTime(r.operator.pid()); err != nil {
		return err
	}
	pr := r.tracker.progress()
	s.ready, s.startup = pr.last.Sub(startedAt), pr.first.Sub(startedAt)
	r.bench.say("  pid %d: all %d objects Ready %s after it started", r.operator.pid(), sc.objects,
		s.ready.Round(10*time.Millisecond))

	// A moment for the last responses to be counted on the client's side, and for memory
	// to be read after the rush.
	if err := sleep(ctx, r.bench.opts.settle); err != nil {
		return err
	}
	if s.rss, _, err = memory(r.operator.pid()); err != nil {
		return err
	}
	if r.synced, err = r.read(ctx, true); err != nil {
		return err
	}
	s.first = between(r.start, r.synced)
	r.like, err = checkSecrets(ctx, r.cluster.client, r.layout.want())
	return err
}

// scheduledRound waits until every object has synced once more on its schedule, and reads
// what that cost.
func (r *benchRun) scheduledRound(ctx context.Context) error {
	sc := r.sc
	// The objects' next syncs fall due refreshInterval after their first, plus a jitter of
	// up to a tenth of it.
	limit := r.bench.opts.interval*11/10 + 2*r.s.ready + time.Minute
	r.bench.say("  waiting for the scheduled sync round (up to %s)", limit.Round(time.Second))
	err := poll(ctx, limit, 200*time.Millisecond, func() (bool, string, error) {
		if err := r.operator.exited(); err != nil {
			return false, "", err
		}
		pr := r.tracker.progress()
		return pr.refreshed == sc.objects, fmt.Sprintf("%d of %d objects synced again", pr.refreshed, sc.objects), pr.err
	})
	if err != nil {
		return err
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	after, err := r.read(ctx, true)
	if err != nil {
		return err
	}
	round := between(r.synced, after)
	round.changed = r.tracker.changedByRefresh()
	r.s.refresh = &round
	r.bench.say("  scheduled round: %d API call(s), %d Secret write(s), %d object write(s)",
		round.apiCalls, round.secretWriteTotal(), round.objectWrites)
	return nil
}

// writeFloor writes the raw floor, the operator stopped.
func (r *benchRun) writeFloor(ctx context.Context) error {
	c, err := r.cluster.newClient()
	if err != nil {
		return err
	}
	serverCPU := r.controlPlane.read()
	if r.s.floor, err = writeFloor(ctx, c, r.like, r.sc.concurrency); err != nil {
		return fmt.Errorf("raw floor: %w", err)
	}
	r.s.floorCPU = r.controlPlane.read() - serverCPU
	r.bench.say("  raw floor: %d Secrets of %d bytes, %d at once, in %s: operator/floor %.1f", len(r.like),
		r.s.floor.jsonBytes, r.sc.concurrency, r.s.floor.took.Round(10*time.Millisecond), r.s.ratio())
	return nil
}

func (s *sample) ratio() float64 { return s.ready.Seconds() / s.floor.took.Seconds() }

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// checkCI holds the --ci run to its exact counts and prints one line per check.
func (b *bench) checkCI(w io.Writer) bool {
	s := b.scenarios[0].runs[0]
	n := b.scenarios[0].objects
	checks := []struct {
		what      string
		got, want int
	}{
		{"xpander API calls on the first sync", s.first.apiCalls, 1},
		{"Secret creates on the first sync (operator's metrics)", s.first.secretWrites["create"], n},
		{"Secret updates on the first sync (operator's metrics)", s.first.secretWrites["update"], 0},
		{"Secret writes on the first sync (API server's count)", s.first.serverSecretWrites(), n},
		{"xpander API calls in the unchanged scheduled round", s.refresh.apiCalls, 1},
		{"Secret writes in the unchanged scheduled round (operator's metrics)", s.refresh.secretWriteTotal(), 0},
		{"Secret writes in the unchanged scheduled round (API server's count)", s.refresh.serverSecretWrites(), 0},
	}
	passed, failed := 0, 0
	fmt.Fprintln(w)
	for _, c := range checks {
		verdict := "ok  "
		if c.got == c.want {
			passed++
		} else {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s %s: %d, want %d\n", verdict, c.what, c.got, c.want)
	}
	fmt.Fprintf(w, "bench-ci: %d passed, %d failed\n", passed, failed)
	return failed == 0
}
