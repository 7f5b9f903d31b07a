package main

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// median returns the median of the values (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// values collects one figure from every run of the scenario.
func (sc *scenario) values(get func(*sample) float64) []float64 {
	out := make([]float64, 0, len(sc.runs))
	for _, s := range sc.runs {
		out = append(out, get(s))
	}
	return out
}

// spread prints the median of the values and, when they differ, their range.
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "n/a"
	}
	m := fmt.Sprintf(format, median(v))
	lo, hi := fmt.Sprintf(format, slices.Min(v)), fmt.Sprintf(format, slices.Max(v))
	if lo == hi {
		return m
	}
	return fmt.Sprintf("%s (%s–%s)", m, lo, hi)
}

func mib(b float64) float64 { return b / (1 << 20) }

func (sc *scenario) flags() string {
	return fmt.Sprintf("%d / %s / %s", sc.concurrency, sc.qps, sc.burst)
}

// report writes the tables, the facts of the run, and the benchstat lines.
func (b *bench) report(w io.Writer) {
	firstHeader := []string{"objects", "keys", "reconciles / QPS / burst", "runs", "Ready s", "of which start-up s", "floor s",
		"Ready ÷ floor", "API calls", "Secret creates", "Secret updates", "status writes",
		"API-server requests per object", "operator CPU s", "control-plane CPU s", "control-plane CPU s, floor", "RSS MiB"}
	var first [][]string
	for _, sc := range b.scenarios {
		first = append(first, []string{
			fmt.Sprint(sc.objects), fmt.Sprint(sc.keys), sc.flags(), fmt.Sprint(len(sc.runs)),
			spread(sc.values(func(s *sample) float64 { return s.ready.Seconds() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return s.startup.Seconds() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return s.floor.took.Seconds() }), "%.2f"),
			spread(sc.values(func(s *sample) float64 { return s.ratio() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return float64(s.first.apiCalls) }), "%.0f"),
			spread(sc.values(func(s *sample) float64 { return float64(s.first.secretWrites["create"]) }), "%.0f"),
			spread(sc.values(func(s *sample) float64 { return float64(s.first.secretWrites["update"]) }), "%.0f"),
			spread(sc.values(func(s *sample) float64 { return float64(s.first.client["PATCH"]) }), "%.0f"),
			spread(sc.values(func(s *sample) float64 { return float64(s.first.clientTotal()) / float64(sc.objects) }), "%.2f"),
			spread(sc.values(func(s *sample) float64 { return s.operatorCPU.Seconds() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return s.serverCPU.Seconds() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return s.floorCPU.Seconds() }), "%.1f"),
			spread(sc.values(func(s *sample) float64 { return mib(float64(s.rss)) }), "%.1f"),
		})
	}

	var refreshHeader []string
	var refresh [][]string
	if b.opts.refresh {
		refreshHeader = []string{"objects", "keys", "reconciles / QPS / burst", "API calls", "Secret writes",
			"status writes", "API-server requests per object", "status fields changed"}
		for _, sc := range b.scenarios {
			r := func(get func(*round) float64) []float64 {
				return sc.values(func(s *sample) float64 { return get(s.refresh) })
			}
			changed := map[string]bool{}
			for _, s := range sc.runs {
				for f := range s.refresh.changed {
					changed[f] = true
				}
			}
			refresh = append(refresh, []string{
				fmt.Sprint(sc.objects), fmt.Sprint(sc.keys), sc.flags(),
				spread(r(func(x *round) float64 { return float64(x.apiCalls) }), "%.0f"),
				spread(r(func(x *round) float64 { return float64(x.secretWriteTotal()) }), "%.0f"),
				spread(r(func(x *round) float64 { return float64(x.client["PATCH"]) }), "%.0f"),
				spread(r(func(x *round) float64 { return float64(x.clientTotal()) / float64(sc.objects) }), "%.2f"),
				strings.Join(slices.Sorted(maps.Keys(changed)), ", "),
			})
		}
	}

	serverHeader, server := b.serverTable(func(s *sample) *round { return &s.first })
	var refreshServerHeader []string
	var refreshServer [][]string
	if b.opts.refresh {
		refreshServerHeader, refreshServer = b.serverTable(func(s *sample) *round { return s.refresh })
	}

	if b.opts.markdown {
		fmt.Fprintln(w, "First sync: from the operator's start until every object is Ready and its Secret holds the right URI.")
		fmt.Fprintln(w)
		markdownTable(w, firstHeader, first, 3)
		if refresh != nil {
			fmt.Fprintln(w, "\nThe scheduled sync round that followed, with nothing changed:")
			fmt.Fprintln(w)
			markdownTable(w, refreshHeader, refresh, 3)
		}
		fmt.Fprintln(w, "\nAPI-server requests per object on the first sync, as the API server counted them (median run):")
		fmt.Fprintln(w)
		markdownTable(w, serverHeader, server, 3)
		if refreshServer != nil {
			fmt.Fprintln(w, "\nAPI-server requests per object in the scheduled round, as the API server counted them (median run):")
			fmt.Fprintln(w)
			markdownTable(w, refreshServerHeader, refreshServer, 3)
		}
		fmt.Fprintln(w)
		for _, f := range b.facts() {
			fmt.Fprintln(w, "- "+f)
		}
	} else {
		fmt.Fprintln(w, "First sync (operator start -> every object Ready, its Secret holding the right URI):")
		textTable(w, firstHeader, first)
		if refresh != nil {
			fmt.Fprintln(w, "\nScheduled sync round, nothing changed:")
			textTable(w, refreshHeader, refresh)
		}
		fmt.Fprintln(w, "\nAPI-server requests per object on the first sync, the API server's count (median run):")
		textTable(w, serverHeader, server)
		if refreshServer != nil {
			fmt.Fprintln(w, "\nAPI-server requests per object in the scheduled round, the API server's count (median run):")
			textTable(w, refreshServerHeader, refreshServer)
		}
		fmt.Fprintln(w)
		for _, f := range b.facts() {
			fmt.Fprintln(w, f)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, b.benchstatLines())
}

// serverTable breaks a round's requests to the resources the operator uses down by verb and
// resource, per object, for the run of each scenario whose Ready time is the median. Columns
// below 0.05 an object in every scenario are summed into "other". Requests to other resources
// are the API server's own background work, left out. Leases hold both the operator's leader
// election and the API server's own identity lease.
func (b *bench) serverTable(of func(*sample) *round) ([]string, [][]string) {
	medianRun := func(sc *scenario) *sample {
		runs := slices.Clone(sc.runs)
		slices.SortFunc(runs, func(a, b *sample) int { return int(a.ready - b.ready) })
		return runs[len(runs)/2]
	}
	operators := func(k string) bool {
		_, res, _ := strings.Cut(k, " ")
		res, _, _ = strings.Cut(res, "/")
		return slices.Contains([]string{"secrets", "xpanderdatabases", "events", "leases"}, res)
	}
	wide := map[string]bool{}
	for _, sc := range b.scenarios {
		for k, v := range of(medianRun(sc)).server {
			if operators(k) && float64(v)/float64(sc.objects) >= 0.05 {
				wide[k] = true
			}
		}
	}
	cols := slices.Sorted(maps.Keys(wide))
	header := append([]string{"objects", "keys", "reconciles / QPS / burst"}, cols...)
	header = append(header, "other", "total")
	var rows [][]string
	for _, sc := range b.scenarios {
		s := medianRun(sc)
		row := []string{fmt.Sprint(sc.objects), fmt.Sprint(sc.keys), sc.flags()}
		other, total := 0, 0
		r := of(s)
		for k, v := range r.server {
			if !operators(k) {
				continue
			}
			total += v
			if !wide[k] {
				other += v
			}
		}
		per := func(v int) string { return fmt.Sprintf("%.2f", float64(v)/float64(sc.objects)) }
		for _, c := range cols {
			row = append(row, per(r.server[c]))
		}
		rows = append(rows, append(row, per(other), per(total)))
	}
	return header, rows
}

// facts describes the machine and the method, and works out memory per object.
func (b *bench) facts() []string {
	o := b.opts
	var loads []float64
	for _, sc := range b.scenarios {
		for _, s := range sc.runs {
			loads = append(loads, s.load[0], s.load[1])
		}
	}
	out := []string{
		fmt.Sprintf("machine: %d CPUs (%s), %s memory; bench built with %s; operator %s", runtime.NumCPU(),
			cpuModel(), memTotal(), runtime.Version(), describeBinary(b.manager)),
		fmt.Sprintf("one-minute load average when operators started and stopped: %s (median %.1f); "+
			"the runs share the machine with whatever else runs on it", loadRange(loads), median(loads)),
		fmt.Sprintf("each run: a fresh control plane, N objects over %d namespaces, K keys, one fresh operator "+
			"(leader election on, its other flags at their defaults); repeats interleaved scenario by scenario; "+
			"%s in all", namespaces, b.elapsed),
		"Ready s: from starting the operator process until bench's watch sees the last object Ready; the " +
			"operator writes an object's Secret before the status that says Ready, and every Secret's URI is " +
			"checked afterwards; start-up s: the part before the first object's status changed (process start, " +
			"leader election, cache sync, the first syncs)",
		"floor s: the same number of Secrets, with the managed Secrets' type, data, labels and annotations, " +
			"created by a fresh client with no rate limit, as many at once as the operator's reconciles, on the " +
			"same API server after the operator stopped",
		"API calls: calls the stand-in received with the run's keys; Secret writes: xpander_db_secret_writes_total; " +
			"status writes: the operator's PATCH requests (rest_client_requests_total); " +
			"API-server requests per object: all of the operator's requests (rest_client_requests_total) ÷ N, " +
			"start-up lists, leader election and events included",
		"operator CPU s: user and system CPU time of the operator process until the last object was Ready; " +
			"control-plane CPU s: that of kube-apiserver and etcd over the same time; control-plane CPU s, floor: " +
			"theirs while the floor was written (bench's watch is open during the first, not the second)",
	}
	if o.refresh {
		out = append(out, fmt.Sprintf("scheduled round: objects have refreshInterval %s (so a shared answer serves "+
			"other objects for at most %s); the round ends when every object's status.lastSyncTime has moved",
			o.interval, o.interval/2))
	}
	if o.apiLatency > 0 {
		out = append(out, fmt.Sprintf("the operator reached the stand-in through a loopback proxy that held "+
			"everything it sent for %s (a TLS handshake pays it several times)", o.apiLatency))
	}
	out = append(out, b.perObjectMemory()...)
	return out
}

// perObjectMemory works out RSS per object between the smallest and largest N of scenarios
// that differ in nothing else.
func (b *bench) perObjectMemory() []string {
	type group struct {
		keysAreN          bool
		keys, concurrency int
		qps, burst        string
	}
	groups := map[group][]*scenario{}
	var order []group
	for _, sc := range b.scenarios {
		g := group{keysAreN: sc.keys == sc.objects, concurrency: sc.concurrency, qps: sc.qps, burst: sc.burst}
		if !g.keysAreN {
			g.keys = sc.keys
		}
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], sc)
	}
	var out []string
	for _, g := range order {
		scs := groups[g]
		if len(scs) < 2 {
			continue
		}
		slices.SortFunc(scs, func(a, b *scenario) int { return a.objects - b.objects })
		lo, hi := scs[0], scs[len(scs)-1]
		rss := func(sc *scenario) float64 {
			return median(sc.values(func(s *sample) float64 { return float64(s.rss) }))
		}
		per := (rss(hi) - rss(lo)) / float64(hi.objects-lo.objects)
		keys := fmt.Sprint(g.keys)
		if g.keysAreN {
			keys = "N"
		}
		out = append(out, fmt.Sprintf("RSS per managed object, keys=%s, reconciles/QPS/burst %d/%s/%s: %.1f KiB "+
			"(median RSS %.1f MiB at %d objects, %.1f MiB at %d)", keys, g.concurrency, g.qps, g.burst,
			per/1024, mib(rss(lo)), lo.objects, mib(rss(hi)), hi.objects))
	}
	return out
}

// benchstatLines prints one line per run in the Go benchmark format.
func (b *bench) benchstatLines() string {
	var w strings.Builder
	fmt.Fprintf(&w, "goos: %s\ngoarch: %s\npkg: github.com/xpander-ai/xpander-db-operator/hack/bench\ncpu: %s\n",
		runtime.GOOS, runtime.GOARCH, cpuModel())
	for _, sc := range b.scenarios {
		for _, s := range sc.runs {
			fmt.Fprintf(&w, "BenchmarkOperator/%s-%d\t1\t%d ns/op\t%d floor-ns/op\t%.3f ready/floor"+
				"\t%d api-calls\t%d secret-writes\t%d status-writes\t%.3f kube-req/object\t%d rss-bytes"+
				"\t%d hwm-bytes\t%.3f operator-cpu-sec\t%.3f server-cpu-sec\t%.3f floor-server-cpu-sec",
				sc.name(), runtime.GOMAXPROCS(0), s.ready.Nanoseconds(), s.floor.took.Nanoseconds(), s.ratio(),
				s.first.apiCalls, s.first.secretWriteTotal(), s.first.client["PATCH"],
				float64(s.first.clientTotal())/float64(sc.objects), s.rss, s.hwm,
				s.operatorCPU.Seconds(), s.serverCPU.Seconds(), s.floorCPU.Seconds())
			if r := s.refresh; r != nil {
				fmt.Fprintf(&w, "\t%d refresh-api-calls\t%d refresh-secret-writes\t%d refresh-status-writes"+
					"\t%.3f refresh-kube-req/object", r.apiCalls, r.secretWriteTotal(), r.client["PATCH"],
					float64(r.clientTotal())/float64(sc.objects))
			}
			w.WriteString("\n")
		}
	}
	return w.String()
}

func textTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// markdownTable writes a Markdown table whose columns from the numeric'th on are numbers,
// aligned right.
func markdownTable(w io.Writer, header []string, rows [][]string, numeric int) {
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	align := make([]string, len(header))
	for i := range align {
		align[i] = "---"
		if i >= numeric {
			align[i] = "---:"
		}
	}
	fmt.Fprintln(w, "|"+strings.Join(align, "|")+"|")
	for _, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
	}
}

func loadRange(v []float64) string {
	if len(v) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f–%.1f", slices.Min(v), slices.Max(v))
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	return "unknown"
}

// describeBinary names the Go version and the commit the binary was built with, as far as
// its build information says.
func describeBinary(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "of unknown build"
	}
	desc := "built with " + info.GoVersion
	rev, modified := "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		desc += " from commit " + rev[:min(12, len(rev))]
		if modified == "true" {
			desc += " with uncommitted changes"
		}
	}
	st, err := os.Stat(path)
	if err == nil {
		desc += ", binary of " + st.ModTime().UTC().Format(time.DateTime) + " UTC"
	}
	return desc
}
