package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// runControlPlane starts etcd and kube-apiserver (envtest, both on loopback), writes an
// admin kubeconfig to DIR/kubeconfig, runs the command with KUBECONFIG pointing at it, stops
// the control plane and returns the command's exit code. The control plane's output goes to
// DIR/control-plane.log.
func runControlPlane(args []string) (int, error) {
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	assets := fs.String("assets", os.Getenv("KUBEBUILDER_ASSETS"), "directory holding kube-apiserver and etcd")
	dir := fs.String("dir", "", "directory for the kubeconfig and the control plane's log")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() == 0 || *dir == "" || *assets == "" {
		return 0, errors.New("usage: controlplane -assets DIR -dir DIR -- COMMAND [ARG...]")
	}

	logFile, err := os.OpenFile(filepath.Join(*dir, "control-plane.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	logf.SetLogger(zap.New(zap.WriteTo(logFile)))

	env := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{Path: filepath.Join(*assets, "kube-apiserver"), Out: logFile, Err: logFile},
			Etcd:      &envtest.Etcd{Path: filepath.Join(*assets, "etcd"), Out: logFile, Err: logFile},
		},
		BinaryAssetsDirectory:    *assets,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if _, err := env.Start(); err != nil {
		_ = env.Stop() // Start leaves running whatever it managed to start.
		return 0, fmt.Errorf("start control plane (log: %s): %w", logFile.Name(), err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "chart controlplane: stop: %v\n", err)
		}
	}()

	admin, err := env.AddUser(envtest.User{Name: "chart-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return 0, fmt.Errorf("add admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return 0, fmt.Errorf("kubeconfig for the admin user: %w", err)
	}
	kubeconfigPath := filepath.Join(*dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return 0, err
	}

	// An interrupt stops the command and then, through the deferred Stop, the control plane,
	// so that no etcd or kube-apiserver outlives the check.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	case err != nil:
		return 0, fmt.Errorf("run %s: %w", fs.Arg(0), err)
	}
	return 0, nil
}
