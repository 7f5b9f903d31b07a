package main

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// sample is one reading of one process.
type sample struct {
	rss, hwm  int64         // VmRSS and VmHWM, bytes
	heapInuse float64       // go_memstats_heap_inuse_bytes
	heapLive  float64       // go_gc_heap_live_bytes (live heap marked by the last GC); -1 if absent
	settled   time.Duration // how long it ran after syncing before the reading
	steady    bool          // whether RSS had stopped moving by then
	gcs       int           // garbage collections finished while it settled
}

// scenario is one row of the table.
type scenario struct {
	id, title string
	process   string
	unrelated int
	samples   []sample
}

// spread is the median, minimum and maximum of some values.
type spread struct{ median, min, max float64 }

func spreadOf(values []float64) spread {
	if len(values) == 0 {
		return spread{-1, -1, -1}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return spread{median: m, min: v[0], max: v[len(v)-1]}
}

func (s *scenario) values(get func(sample) float64) spread {
	var v []float64
	for _, x := range s.samples {
		if y := get(x); y >= 0 {
			v = append(v, y)
		}
	}
	return spreadOf(v)
}

func (s *scenario) rss() spread  { return s.values(func(x sample) float64 { return float64(x.rss) }) }
func (s *scenario) hwm() spread  { return s.values(func(x sample) float64 { return float64(x.hwm) }) }
func (s *scenario) heap() spread { return s.values(func(x sample) float64 { return x.heapInuse }) }
func (s *scenario) live() spread { return s.values(func(x sample) float64 { return x.heapLive }) }

// mib prints bytes as MiB with one decimal; a negative value means "not measured".
func mib(b float64) string {
	if b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", b/(1<<20))
}

// delta prints the difference of two medians in MiB, or n/a when either is missing.
func delta(a, b spread) string {
	if a.median < 0 || b.median < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f", (a.median-b.median)/(1<<20))
}

// withRange prints a spread as "median (min–max)", or the median alone for one value.
func withRange(s spread) string {
	if s.median < 0 {
		return "n/a"
	}
	if s.min == s.max {
		return mib(s.median)
	}
	return fmt.Sprintf("%s (%s–%s)", mib(s.median), mib(s.min), mib(s.max))
}

// report writes the table, as text or as Markdown. Deltas compare medians: "vs A" with the
// operator alone, "growth" with the same kind of process before the unrelated Secrets existed.
func (b *bench) report(w io.Writer) {
	zero := map[string]*scenario{}
	for _, s := range b.scenarios {
		if s.unrelated == 0 {
			zero[s.process] = s
		}
	}
	a := zero[procOperator]
	header := []string{"scenario", "process", "unrelated Secrets", "runs", "RSS MiB median (min–max)",
		"VmHWM MiB median", "Go heap in use MiB median (min–max)", "live heap at last GC MiB median",
		"Δ RSS vs A", "Δ heap in use vs A", "RSS growth from 0 Secrets", "live heap growth from 0 Secrets"}
	var rows [][]string
	for _, s := range b.scenarios {
		z := zero[s.process]
		growthRSS, growthLive := "–", "–"
		if s != z {
			growthRSS = delta(s.rss(), z.rss())
			growthLive = delta(s.live(), z.live())
		}
		rows = append(rows, []string{
			s.id, s.process, fmt.Sprint(s.unrelated), fmt.Sprint(len(s.samples)),
			withRange(s.rss()), mib(s.hwm().median), withRange(s.heap()), mib(s.live().median),
			delta(s.rss(), a.rss()), delta(s.heap(), a.heap()),
			growthRSS, growthLive,
		})
	}

	runHeader := []string{"scenario", "run", "RSS MiB", "VmHWM MiB", "heap in use MiB",
		"live heap at last GC MiB", "GCs while settling", "read after"}
	var runRows [][]string
	for _, s := range b.scenarios {
		for i, x := range s.samples {
			after := x.settled.String()
			if !x.steady {
				after += " (RSS still moving)"
			}
			runRows = append(runRows, []string{s.id, fmt.Sprint(i + 1), mib(float64(x.rss)), mib(float64(x.hwm)),
				mib(x.heapInuse), mib(x.heapLive), fmt.Sprint(x.gcs), after})
		}
	}

	if b.opts.markdown {
		markdownTable(w, header, rows, 2)
		fmt.Fprintln(w)
		for _, s := range b.scenarios {
			fmt.Fprintf(w, "- **%s**: %s.\n", s.id, s.title)
		}
		fmt.Fprintln(w)
		for _, line := range b.facts() {
			fmt.Fprintln(w, "- "+line)
		}
		fmt.Fprintln(w, "\nEvery reading:")
		fmt.Fprintln(w)
		markdownTable(w, runHeader, runRows, 1)
		return
	}
	textTable(w, header, rows)
	fmt.Fprintln(w)
	for _, line := range b.facts() {
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	textTable(w, runHeader, runRows)
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

// facts describes the run and the machine it ran on.
func (b *bench) facts() []string {
	o := b.opts
	var out []string
	if b.unrelated.count > 0 {
		out = append(out, fmt.Sprintf("%d unrelated kubernetes.io/tls Secrets in %d namespaces, "+
			"%.1f KiB of data and %.1f KiB as JSON each (with the last-applied-configuration annotation), "+
			"created in %s", b.unrelated.count, namespaceCount,
			float64(b.unrelated.dataBytes)/float64(b.unrelated.count)/1024,
			float64(b.unrelated.jsonBytes)/float64(b.unrelated.count)/1024, b.fillTime))
	}
	out = append(out,
		fmt.Sprintf("%d XpanderDatabases in %d namespaces; %d fresh process(es) per scenario (A one more), "+
			"each read at least %s after it synced, once its RSS held still", o.objects, dbNamespaces, o.repeats, o.settle),
		fmt.Sprintf("machine: %d CPUs (%s), %s MiB memory, %s", runtime.NumCPU(), cpuModel(),
			memTotalMiB(), kernel()),
		fmt.Sprintf("membench built with %s; bin/manager built with %s; etcd and kube-apiserver from %s",
			runtime.Version(), binaryGoVersion(filepath.Join(b.binDir, "manager")), b.relative(o.assets)),
		fmt.Sprintf("run time %s", b.elapsed))
	return out
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "model unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "model unknown"
}

func memTotalMiB() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return fmt.Sprint(kib / 1024)
			}
		}
	}
	return "?"
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "Linux"
	}
	return "Linux " + strings.TrimSpace(string(data))
}

func binaryGoVersion(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "an unknown Go"
	}
	return info.GoVersion
}

// relative prints path relative to the repository when it lies inside it.
func (b *bench) relative(path string) string {
	if rel, err := filepath.Rel(b.repo, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
