// Command membench measures the operator's memory with and without thousands of Secrets that
// have nothing to do with it, and next to a naive cache of every Secret as a comparison.
//
// It starts a local control plane (etcd and kube-apiserver from envtest) and the xpander API
// stand-in, creates XpanderDatabases and lets the operator bring them to Ready once. Then it
// starts a fresh operator process for each measured run, waits until it has synced every
// object, lets its memory settle and reads VmRSS and VmHWM from /proc and the Go heap from
// the operator's metrics endpoint on 127.0.0.1:
//
//	A      the operator, with only its own objects in the cluster
//	A+live the last A run goes on while N unrelated Secrets are created, and is read again
//	B      the operator started with the N unrelated Secrets already there
//	naive  a controller-runtime cache of all Secrets as full objects, before and after the N
//
// Progress goes to standard error, the table to standard output (--markdown for Markdown).
//
//	go run ./hack/membench [--secrets N] [--data-kib K] [--objects M] [--repeats R] [--settle D]
//	                       [--timeout D] [--markdown] [--bin-dir bin] [--assets DIR] [--keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	secrets  int
	dataKiB  float64
	objects  int
	repeats  int
	settle   time.Duration
	timeout  time.Duration
	markdown bool
	binDir   string
	assets   string
	keep     bool

	// naiveCache runs this program as the naive Secret cache instead; membench starts
	// itself that way.
	naiveCache   bool
	naiveMetrics string
}

func main() {
	var o options
	flag.IntVar(&o.secrets, "secrets", 3000, "unrelated Secrets to create (N)")
	flag.Float64Var(&o.dataKiB, "data-kib", 3.5, "data per unrelated Secret, in KiB (a certificate chain and a key)")
	flag.IntVar(&o.objects, "objects", 50, "XpanderDatabases to create (M), spread over 5 namespaces")
	flag.IntVar(&o.repeats, "repeats", 3, "fresh processes measured per scenario (R)")
	flag.DurationVar(&o.settle, "settle", 10*time.Second,
		"how long a process runs after it has synced before its memory is read; the reading waits "+
			"longer, up to 30s more, until RSS has stopped moving")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "limit for the whole run")
	flag.BoolVar(&o.markdown, "markdown", false, "print the results as Markdown")
	flag.StringVar(&o.binDir, "bin-dir", "bin", "directory holding manager and xpander-standin (`make build`)")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"),
		"directory holding the envtest kube-apiserver and etcd; default $KUBEBUILDER_ASSETS, "+
			"else bin/k8s/<newest>")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, kubeconfig) after a successful run")
	flag.BoolVar(&o.naiveCache, "naive-cache", false, "internal: run as the naive Secret cache")
	flag.StringVar(&o.naiveMetrics, "naive-metrics-addr", "", "internal: the naive cache's metrics address")
	flag.Parse()

	if o.naiveCache {
		os.Exit(runNaiveCache(o.naiveMetrics))
	}
	os.Exit(run(o))
}

func run(o options) int {
	signal.Ignore(syscall.SIGPIPE)
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	b := &bench{opts: o, log: os.Stderr}
	began := time.Now()
	err := b.setup()
	if err == nil {
		err = b.measureAll(ctx)
	}
	stopErr := b.stopAll()
	b.elapsed = time.Since(began).Round(time.Second)

	if err == nil {
		err = stopErr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		fmt.Fprintf(b.log, "membench: %v\n", err)
		if b.work != "" {
			fmt.Fprintf(b.log, "work directory kept for its logs: %s\n", b.work)
		}
		return 1
	}
	b.report(os.Stdout)
	fmt.Fprintf(b.log, "run time: %s\n", b.elapsed)
	if o.keep {
		fmt.Fprintf(b.log, "work directory kept: %s\n", b.work)
	} else if err := os.RemoveAll(b.work); err != nil {
		fmt.Fprintf(b.log, "could not remove the work directory %s: %v\n", b.work, err)
		return 1
	}
	return 0
}

// bench holds what membench starts and what it measured.
type bench struct {
	opts    options
	log     io.Writer
	elapsed time.Duration

	repo, binDir, self, work string
	stops                    []stopper
	runs                     int

	cluster    *cluster
	standinURL string
	standinCA  string
	unrelated  fillStats
	fillTime   time.Duration

	scenarios []*scenario
}

type stopper struct {
	name string
	stop func() error
}

func (b *bench) onStop(name string, stop func() error) {
	b.stops = append(b.stops, stopper{name, stop})
}

// stopAll stops everything started, last first, and reports every failure.
func (b *bench) stopAll() error {
	var errs []error
	for i := len(b.stops) - 1; i >= 0; i-- {
		if err := b.stops[i].stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", b.stops[i].name, err))
		}
	}
	b.stops = nil
	return errors.Join(errs...)
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.log, format+"\n", args...)
}

// setup checks the flags and paths and creates the work directory.
func (b *bench) setup() error {
	o := &b.opts
	switch {
	case o.secrets < 1:
		return errors.New("--secrets must be at least 1")
	case o.dataKiB < 0.5 || o.dataKiB > 512:
		return errors.New("--data-kib must lie between 0.5 and 512")
	case o.objects < dbNamespaces:
		return fmt.Errorf("--objects must be at least %d, one per database namespace", dbNamespaces)
	case o.repeats < 1:
		return errors.New("--repeats must be at least 1")
	}
	var err error
	if b.repo, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(b.repo, crdDir)); err != nil {
		return fmt.Errorf("run membench from the repository root: %w", err)
	}
	if b.binDir, err = filepath.Abs(o.binDir); err != nil {
		return err
	}
	for _, name := range []string{"manager", "xpander-standin"} {
		if _, err := os.Stat(filepath.Join(b.binDir, name)); err != nil {
			return fmt.Errorf("no %s in %s (run `make build`): %w", name, b.binDir, err)
		}
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
	if b.self, err = os.Executable(); err != nil {
		return fmt.Errorf("find membench's own executable: %w", err)
	}
	if b.work, err = os.MkdirTemp("", "xpander-membench-"); err != nil {
		return err
	}
	b.say("work directory: %s", b.work)
	return nil
}

// measureAll prepares the cluster and runs every scenario in turn.
func (b *bench) measureAll(ctx context.Context) error {
	o := b.opts
	b.say("starting the control plane from %s", o.assets)
	c, err := startCluster(o.assets, b.repo, b.work)
	if err != nil {
		return err
	}
	b.cluster = c
	b.onStop("control plane", c.stop)
	b.say("control plane up; CRD installed")

	keys := make([]string, dbNamespaces)
	for i := range keys {
		keys[i] = "xpk-membench-" + randomHex(16)
	}
	if err := b.startStandin(ctx, keys); err != nil {
		return err
	}
	if err := createNamespaces(ctx, c.client); err != nil {
		return err
	}
	if err := createDatabases(ctx, c.client, keys, o.objects); err != nil {
		return err
	}
	b.say("created %d XpanderDatabases and %d API key Secrets in %d namespaces", o.objects, len(keys), len(keys))

	// One operator process first brings every object to Ready and writes its Secret, so that
	// each measured process starts on the same cluster: objects Ready, Secrets in place, as
	// after a restart of the operator's pod.
	b.say("warm-up: an operator process brings all %d objects to Ready (not measured)", o.objects)
	if _, err := b.measure(ctx, procOperator, "warm-up", nil, false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	a := b.addScenario("A", "operator, only its own objects", procOperator, 0)
	naiveEmpty := b.addScenario("naive-0", "naive cache of all Secrets, only the operator's objects", procNaive, 0)
	live := b.addScenario("A+live", fmt.Sprintf("operator of an A run, after %d Secrets were created while it ran", o.secrets), procOperator, o.secrets)
	bScn := b.addScenario("B", fmt.Sprintf("operator started with %d unrelated Secrets present", o.secrets), procOperator, o.secrets)
	naiveFull := b.addScenario("naive-N", fmt.Sprintf("naive cache of all Secrets, %d unrelated Secrets present", o.secrets), procNaive, o.secrets)

	if err := b.repeat(ctx, a, o.repeats); err != nil {
		return err
	}
	if err := b.repeat(ctx, naiveEmpty, o.repeats); err != nil {
		return err
	}

	// One more A run, which then sees the unrelated Secrets arrive.
	b.say("%s run %d, then %s", a.id, len(a.samples)+1, live.id)
	fill := func(ctx context.Context) error {
		began := time.Now()
		st, err := createUnrelatedSecrets(ctx, c.client, o.secrets, o.dataKiB)
		if err != nil {
			return err
		}
		b.unrelated, b.fillTime = st, time.Since(began).Round(100*time.Millisecond)
		b.say("  created %d unrelated Secrets in %d namespaces in %s (%.1f KiB data, %.1f KiB as JSON each)",
			st.count, namespaceCount, b.fillTime, float64(st.dataBytes)/float64(st.count)/1024,
			float64(st.jsonBytes)/float64(st.count)/1024)
		return nil
	}
	samples, err := b.measure(ctx, procOperator, fmt.Sprintf("A-%d", len(a.samples)+1), fill, true)
	if err != nil {
		return err
	}
	a.samples = append(a.samples, samples[0])
	live.samples = append(live.samples, samples[1])

	if err := b.repeat(ctx, bScn, o.repeats); err != nil {
		return err
	}
	return b.repeat(ctx, naiveFull, o.repeats)
}

func (b *bench) addScenario(id, title, process string, unrelated int) *scenario {
	s := &scenario{id: id, title: title, process: process, unrelated: unrelated}
	b.scenarios = append(b.scenarios, s)
	return s
}

// repeat measures n fresh processes of the scenario's kind.
func (b *bench) repeat(ctx context.Context, s *scenario, n int) error {
	for i := range n {
		b.say("%s run %d/%d: %s", s.id, i+1, n, s.title)
		samples, err := b.measure(ctx, s.process, fmt.Sprintf("%s-%d", s.id, i+1), nil, true)
		if err != nil {
			return fmt.Errorf("%s run %d: %w", s.id, i+1, err)
		}
		s.samples = append(s.samples, samples...)
	}
	return nil
}

// startStandin starts the xpander API stand-in on loopback with an answer for each key.
func (b *bench) startStandin(ctx context.Context, keys []string) error {
	answers := filepath.Join(b.work, "answers.json")
	if err := writeAnswers(answers, keys); err != nil {
		return err
	}
	b.standinCA = filepath.Join(b.work, "xpander-standin-ca.pem")
	urlFile := filepath.Join(b.work, "xpander-standin.url")
	s, err := startChild("xpander API stand-in", filepath.Join(b.work, "xpander-standin.log"), childEnv(""),
		filepath.Join(b.binDir, "xpander-standin"), "--listen=127.0.0.1:0", "--answers="+answers,
		"--ca-out="+b.standinCA, "--url-out="+urlFile)
	if err != nil {
		return err
	}
	b.onStop("xpander API stand-in", func() error { return s.stop(10 * time.Second) })
	err = poll(ctx, 15*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		if err := s.alive(); err != nil {
			return false, "", err
		}
		data, _ := os.ReadFile(urlFile)
		b.standinURL = strings.TrimSpace(string(data))
		return strings.HasPrefix(b.standinURL, "https://127.0.0.1:"), "no URL written yet", nil
	})
	if err != nil {
		return fmt.Errorf("wait for the stand-in: %w", err)
	}
	b.say("xpander API stand-in at %s", b.standinURL)
	return nil
}

// The two kinds of process measured.
const (
	procOperator = "operator"
	procNaive    = "naive cache"
)

// measure starts a fresh process of the given kind, waits until it has synced and, when read
// is set, lets it settle and reads its memory. When between is set it runs after the first
// reading while the process goes on, and a second reading follows. The process is stopped
// before measure returns.
func (b *bench) measure(ctx context.Context, kind, label string, between func(context.Context) error, read bool) (out []sample, err error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var argv []string
	switch kind {
	case procOperator:
		argv = []string{
			filepath.Join(b.binDir, "manager"),
			"--xpander-api-url=" + b.standinURL,
			"--xpander-ca-file=" + b.standinCA,
			"--leader-election-namespace=default",
			"--health-probe-bind-address=0",
			"--metrics-bind-address=" + addr,
			"--metrics-secure=false",
		}
	case procNaive:
		argv = []string{b.self, "--naive-cache", "--naive-metrics-addr=" + addr}
	}
	// The naive cache must hold every Secret there is, checked against the API server.
	wantSecrets, err := secretCount(ctx, b.cluster.client)
	if err != nil {
		return nil, err
	}

	b.runs++
	logPath := filepath.Join(b.work, fmt.Sprintf("%02d-%s.log", b.runs, label))
	p, err := startChild(kind, logPath, childEnv(b.cluster.kubeconfig), argv...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if stopErr := p.stop(40 * time.Second); stopErr != nil && err == nil {
			err = stopErr
		}
	}()

	began := time.Now()
	if kind == procOperator {
		err = b.waitOperatorSynced(ctx, p, addr)
	} else {
		err = waitNaiveSynced(ctx, p, wantSecrets)
	}
	if err != nil {
		return nil, err
	}
	b.say("  pid %d synced in %s", p.pid(), time.Since(began).Round(100*time.Millisecond))
	if !read {
		return nil, nil
	}

	s, err := b.settleAndRead(ctx, p, addr)
	if err != nil {
		return nil, err
	}
	out = append(out, s)
	if between == nil {
		return out, nil
	}
	if err := between(ctx); err != nil {
		return nil, err
	}
	if s, err = b.settleAndRead(ctx, p, addr); err != nil {
		return nil, err
	}
	return append(out, s), nil
}

// waitOperatorSynced waits until the operator has reconciled every object at least once
// (its controller starts only after all its caches have synced), its work queue is empty
// and every object is Ready.
func (b *bench) waitOperatorSynced(ctx context.Context, p *child, addr string) error {
	want := b.opts.objects
	return poll(ctx, 3*time.Minute, 500*time.Millisecond, func() (bool, string, error) {
		if err := p.alive(); err != nil {
			return false, "", err
		}
		m, err := scrape(ctx, addr)
		if err != nil {
			return false, fmt.Sprintf("metrics not served yet: %v", err), nil
		}
		reconciled, _ := m.sum("controller_runtime_reconcile_total", map[string]string{"controller": "xpanderdatabase"})
		depth, ok := m.sum("workqueue_depth", map[string]string{"name": "xpanderdatabase"})
		if int(reconciled) < want || !ok || depth > 0 {
			return false, fmt.Sprintf("%d of %d objects reconciled, work queue depth %v", int(reconciled), want, depth), nil
		}
		ready, total, err := readyCount(ctx, b.cluster.client)
		if err != nil {
			return false, "", err
		}
		return ready == want && total == want, fmt.Sprintf("%d of %d objects Ready", ready, want), nil
	})
}

// waitNaiveSynced waits for the naive cache to say it has synced, and checks that it holds
// every Secret in the cluster.
func waitNaiveSynced(ctx context.Context, p *child, want int) error {
	return poll(ctx, 3*time.Minute, 250*time.Millisecond, func() (bool, string, error) {
		if err := p.alive(); err != nil {
			return false, "", err
		}
		data, _ := os.ReadFile(p.logPath)
		for _, line := range strings.Split(string(data), "\n") {
			rest, ok := strings.CutPrefix(line, syncedLine)
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) == 0 {
				return false, "", fmt.Errorf("cannot read %q", line)
			}
			got, err := strconv.Atoi(f[0])
			if err != nil || got != want {
				return false, "", fmt.Errorf("the naive cache holds %s Secrets, the cluster %d", f[0], want)
			}
			return true, "", nil
		}
		return false, "the cache has not synced yet", nil
	})
}

// maxExtraSettle is how much longer than --settle a reading waits for RSS to hold still.
const maxExtraSettle = 30 * time.Second

// settleAndRead waits for the process's memory to settle and reads it: VmRSS and VmHWM from
// /proc, the Go heap from its metrics. Settled means at least --settle since it synced and
// RSS within 1% (or 512 KiB) over the last five one-second samples. The metrics endpoint is
// read only at the start, to count garbage collections from there, and at the end: reading
// it every second was tried and added about 4 MiB of RSS to every process.
func (b *bench) settleAndRead(ctx context.Context, p *child, addr string) (sample, error) {
	began := time.Now()
	m, err := scrape(ctx, addr)
	if err != nil {
		return sample{}, fmt.Errorf("read metrics: %w", err)
	}
	gcBefore, ok := m.sum("go_gc_duration_seconds_count", nil)
	if !ok {
		return sample{}, errors.New("no go_gc_duration_seconds_count in the metrics")
	}
	var rss []int64
	for {
		select {
		case <-ctx.Done():
			return sample{}, ctx.Err()
		case <-time.After(time.Second):
		}
		if err := p.alive(); err != nil {
			return sample{}, err
		}
		r, _, err := procMemory(p.pid())
		if err != nil {
			return sample{}, err
		}
		rss = append(rss, r)
		waited := time.Since(began)
		steady := steadyTail(rss, 5)
		if (waited < b.opts.settle || !steady) && waited < b.opts.settle+maxExtraSettle {
			continue
		}

		s := sample{settled: waited.Round(time.Second), steady: steady}
		if s.rss, s.hwm, err = procMemory(p.pid()); err != nil {
			return sample{}, err
		}
		if m, err = scrape(ctx, addr); err != nil {
			return sample{}, fmt.Errorf("read metrics: %w", err)
		}
		if s.heapInuse, ok = m.sum("go_memstats_heap_inuse_bytes", nil); !ok {
			return sample{}, errors.New("no go_memstats_heap_inuse_bytes in the metrics")
		}
		if s.heapLive, ok = m.sum("go_gc_heap_live_bytes", nil); !ok {
			s.heapLive = -1
		}
		gcs, _ := m.sum("go_gc_duration_seconds_count", nil)
		s.gcs = int(gcs - gcBefore)
		moving := ""
		if !steady {
			moving = " (RSS still moving)"
		}
		b.say("  pid %d after %s%s, %d GC(s) meanwhile: RSS %s MiB, VmHWM %s MiB, heap in use %s MiB, "+
			"live heap at last GC %s MiB", p.pid(), s.settled, moving, s.gcs,
			mib(float64(s.rss)), mib(float64(s.hwm)), mib(s.heapInuse), mib(s.heapLive))
		return s, nil
	}
}

// steadyTail says whether the last n values lie within 1% of their largest, or 512 KiB.
func steadyTail(v []int64, n int) bool {
	if len(v) < n {
		return false
	}
	lo, hi := v[len(v)-n], v[len(v)-n]
	for _, x := range v[len(v)-n:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return hi-lo <= max(hi/100, 512<<10)
}
