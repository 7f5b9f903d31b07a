package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a long-running process the demo started and must stop.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startChild starts a process whose output goes to logPath. The child gets its own process
// group, so a Ctrl-C in the terminal reaches only the demo, which then stops its children in
// order instead of having them all die at once.
func startChild(name, logPath string, env []string, argv ...string) (*child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
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

// exited says whether the process has ended, and how.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// stop asks the process to end with SIGTERM and kills it if it is still there after grace.
// It reports a process that had already ended on its own, since none of ours should.
func (c *child) stop(grace time.Duration) error {
	if gone, err := c.exited(); gone {
		return fmt.Errorf("%s (pid %d) had already exited: %v", c.name, c.cmd.Process.Pid, err)
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
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", c.name, c.cmd.Process.Pid, grace)
}

// command is a short command the demo runs to completion.
type command struct {
	argv    []string
	env     []string
	dir     string
	stdin   string
	timeout time.Duration
	attr    *syscall.SysProcAttr
}

// result is what a finished command printed and how it ended.
type result struct {
	stdout, stderr string
	exitCode       int
}

// run runs c and returns its output. A non-zero exit is an error that quotes the command's
// standard error; the result is returned as well, for callers that expect a refusal.
func (c command) run(ctx context.Context) (result, error) {
	timeout := c.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.SysProcAttr = c.attr
	cmd.WaitDelay = 5 * time.Second
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), exitCode: cmd.ProcessState.ExitCode()}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (after %s)", ctx.Err(), timeout)
	}
	msg := strings.TrimSpace(res.stderr)
	if msg == "" {
		msg = strings.TrimSpace(res.stdout)
	}
	return res, fmt.Errorf("%s: %w: %s", c.argv[0], err, lastLines(msg, 5))
}

// baseEnv is the demo's environment without proxy settings, which must never route the
// loopback-only traffic of the demo elsewhere, and without libpq settings that would change
// how psql connects behind the URI's back.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(strings.ToLower(name), "_proxy"),
			strings.HasPrefix(name, "PG"),
			name == "KUBECONFIG":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check every interval until it reports done, fails, or the timeout passes. The
// last "not yet" reason goes into the timeout error so that a failure says what was seen.
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
