package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a child bench started and must stop again.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	stopped bool
}

// startProcess starts argv with its output in logPath, in a process group of its own so that
// a Ctrl-C reaches bench alone, which then stops the child itself.
func startProcess(name, logPath string, env []string, argv ...string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the %s log: %w", name, err)
	}
	defer f.Close()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited returns an error carrying the end of the process's log once it has exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		log, _ := os.ReadFile(p.logPath)
		return fmt.Errorf("%s (pid %d) exited: %v; its log ends with:\n%s", p.name, p.pid(), p.err,
			tail(string(log), 10))
	default:
		return nil
	}
}

// stop sends SIGTERM, and SIGKILL when the process is still there after grace. It returns
// an error when the process had exited before it was asked to; stopping it again is a no-op.
func (p *process) stop(grace time.Duration) error {
	if p.stopped {
		return nil
	}
	if err := p.exited(); err != nil {
		return err
	}
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", p.name, p.pid(), grace)
}

// childEnv is the environment a child runs with: no proxy settings, which must never route
// loopback traffic elsewhere, and none of the Go runtime's tuning variables, so that the
// operator runs with the runtime's defaults whatever the caller's shell holds.
func childEnv(kubeconfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(strings.ToLower(name), "_proxy"),
			name == "KUBECONFIG", name == "GOGC", name == "GOMEMLIMIT", name == "GODEBUG",
			name == "GOMAXPROCS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "KUBECONFIG="+kubeconfig)
}

// memory reads a process's resident set size and its high-water mark, in bytes, from
// /proc/PID/status.
func memory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected line in /proc/%d/status: %q", pid, line)
		}
		kib, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rss = kib << 10
		} else {
			hwm = kib << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// loadAverage returns the one-minute load average, or -1 when /proc does not say.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// freeLoopbackPort asks the kernel for a free TCP port on 127.0.0.1. Another process could
// take it before the operator binds it; the operator then fails to start and bench says so.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// series is one sample line of the Prometheus text format.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one reading of a /metrics endpoint.
type metrics []series

// loopbackHTTP reads the operator's metrics: loopback only, never through a proxy.
var loopbackHTTP = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// scrapeOperator reads http://addr/metrics, addr being on 127.0.0.1.
func scrapeOperator(ctx context.Context, addr string) (metrics, error) {
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("refusing to read metrics from %q: not a 127.0.0.1 address", addr)
	}
	return scrape(ctx, loopbackHTTP, "http://"+addr+"/metrics")
}

func scrape(ctx context.Context, c *http.Client, url string) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %s", url, resp.Status)
	}
	return parseMetrics(body), nil
}

// parseMetrics reads as much of the Prometheus text format as bench needs: a name, labels
// with quoted values, a value. Comments and lines it cannot read are skipped.
func parseMetrics(body []byte) metrics {
	var out metrics
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s := series{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			s.name = line[:i]
			n, ok := parseLabels(line[i+1:], s.labels)
			if !ok {
				continue
			}
			rest = line[i+1+n:]
		} else {
			s.name, rest, _ = strings.Cut(line, " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// parseLabels reads `k="v",...}` into m and returns how many bytes it read.
func parseLabels(s string, m map[string]string) (int, bool) {
	i := 0
	for i < len(s) {
		switch s[i] {
		case '}':
			return i + 1, true
		case ',', ' ':
			i++
			continue
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return 0, false
		}
		key := s[i : i+eq]
		i += eq + 2
		var v strings.Builder
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					v.WriteByte('\n')
				} else {
					v.WriteByte(s[i])
				}
				continue
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return 0, false
		}
		i++ // the closing quote
		m[key] = v.String()
	}
	return 0, false
}

// sum adds up the series called name whose labels hold every pair in match.
func (m metrics) sum(name string, match map[string]string) float64 {
	var total float64
next:
	for _, s := range m {
		if s.name != name {
			continue
		}
		for k, v := range match {
			if s.labels[k] != v {
				continue next
			}
		}
		total += s.value
	}
	return total
}

// by adds up the series called name grouped by the values of the given labels, joined with
// a space.
func (m metrics) by(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m {
		if s.name != name {
			continue
		}
		parts := make([]string, len(labels))
		for i, l := range labels {
			parts[i] = s.labels[l]
		}
		out[strings.Join(parts, " ")] += s.value
	}
	return out
}

// tail returns at most n trailing lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check every interval until it reports done or fails, or timeout passes; the
// last reason check gave for "not yet" goes into the timeout's error.
func poll(ctx context.Context, timeout, interval time.Duration, check func() (bool, string, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		done, why, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return fmt.Errorf("gave up after %s: %s", timeout, why)
		case <-time.After(interval):
		}
	}
}

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in /proc/PID/stat; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns the CPU time, user and system, the process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces; the fields after it do not.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("cannot read /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot read /proc/%d/stat", pid)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime and stime, fields 14 and 15 of the whole line
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cannot read /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// childrenNamed returns the pids of this process's children whose command is one of names.
func childrenNamed(names ...string) []int {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(data[end+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(self) {
			continue
		}
		for _, n := range names {
			if string(data[open+1:end]) == n {
				out = append(out, pid)
			}
		}
	}
	return out
}

// cpuMeter adds up the CPU time of a fixed set of processes.
type cpuMeter []int

func (m cpuMeter) read() time.Duration {
	var total time.Duration
	for _, pid := range m {
		if d, err := cpuTime(pid); err == nil {
			total += d
		}
	}
	return total
}
