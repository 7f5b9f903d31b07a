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

// child is a long-running process membench started and must stop again.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startChild starts argv with its output in logPath. The process gets a process group of its
// own, so that a Ctrl-C reaches membench alone, which then stops its children itself.
func startChild(name, logPath string, env []string, argv ...string) (*child, error) {
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
	c := &child{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// alive returns an error, with the end of the process's log, once the process has exited.
func (c *child) alive() error {
	select {
	case <-c.done:
		tail, _ := os.ReadFile(c.logPath)
		return fmt.Errorf("%s (pid %d) exited: %v; its log ends with:\n%s", c.name, c.pid(), c.err,
			lastLines(string(tail), 10))
	default:
		return nil
	}
}

// stop sends SIGTERM and kills the process if it is still there after grace.
func (c *child) stop(grace time.Duration) error {
	if err := c.alive(); err != nil {
		return err
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", c.name, err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", c.name, c.pid(), grace)
}

// childEnv is membench's environment for a child: no proxy settings, which must never route
// loopback traffic elsewhere, and none of the Go runtime's tuning variables, so that every
// process runs with the runtime's defaults whatever the caller's shell holds.
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
	if kubeconfig != "" {
		env = append(env, "KUBECONFIG="+kubeconfig)
	}
	return env
}

// procMemory reads a process's resident set size and its high-water mark, in bytes, from
// /proc/PID/status.
func procMemory(pid int) (rss, hwm int64, err error) {
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
			return 0, 0, fmt.Errorf("unexpected %s line in /proc/%d/status: %q", name, pid, line)
		}
		kib, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rss = kib * 1024
		} else {
			hwm = kib * 1024
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// freeLoopbackPort asks the kernel for a free TCP port on 127.0.0.1. Another process could
// take it before the child binds it; on this machine nothing else is looking for one.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// series is one line of the Prometheus text format.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one scrape of a /metrics endpoint.
type metrics []series

// metricsClient talks to loopback only, never through a proxy.
var metricsClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// scrape reads http://addr/metrics. addr must be on 127.0.0.1.
func scrape(ctx context.Context, addr string) (metrics, error) {
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("refusing to scrape %q: not a 127.0.0.1 address", addr)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics answered %s", resp.Status)
	}
	return parseMetrics(body), nil
}

// parseMetrics reads the Prometheus text format as far as membench needs it: a name, labels
// with quoted values, and a value; comments, and lines it cannot read, are skipped.
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
			end, ok := parseLabels(line[i+1:], s.labels)
			if !ok {
				continue
			}
			rest = line[i+1+end:]
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

// parseLabels reads `k="v",...}` into into and returns how many bytes it consumed.
func parseLabels(s string, into map[string]string) (int, bool) {
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
				switch s[i] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(s[i])
				}
				continue
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return 0, false
		}
		i++ // closing quote
		into[key] = v.String()
	}
	return 0, false
}

// sum adds up the series called name whose labels include every pair in match, and says
// whether there was any.
func (m metrics) sum(name string, match map[string]string) (float64, bool) {
	var total float64
	found := false
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
		found = true
	}
	return total, found
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check every interval until it reports done or fails, or timeout passes; the
// last reason check gave for "not yet" goes into the timeout error.
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
