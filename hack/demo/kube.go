package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// cluster is a local control plane (etcd and kube-apiserver, nothing else) and the kubectl
// configuration of an admin user on it.
type cluster struct {
	env        *envtest.Environment
	kubeconfig string
	host       string
	logFile    *os.File
	kubectlBin string
}

// startCluster starts etcd and kube-apiserver from assets and writes an admin kubeconfig
// into workdir. Their output, and envtest's own, goes to control-plane.log there.
func startCluster(assets, workdir string) (*cluster, error) {
	// A kubectl built with the control plane (`make envtest`) matches its version; otherwise
	// the one on PATH will do for the few commands the demo runs.
	kubectlBin := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectlBin); err != nil {
		if kubectlBin, err = exec.LookPath("kubectl"); err != nil {
			return nil, fmt.Errorf("kubectl is needed, in %s or on PATH: %w", assets, err)
		}
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, name)); err != nil {
			return nil, fmt.Errorf("no %s in %s (run `make envtest`, or pass --assets): %w", name, assets, err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(workdir, "control-plane.log"),
		os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	logf.SetLogger(zap.New(zap.WriteTo(logFile)))

	env := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{
				Path: filepath.Join(assets, "kube-apiserver"),
				Out:  logFile,
				Err:  logFile,
			},
			Etcd: &envtest.Etcd{
				Path: filepath.Join(assets, "etcd"),
				Out:  logFile,
				Err:  logFile,
			},
		},
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	c := &cluster{env: env, logFile: logFile, kubectlBin: kubectlBin}
	if _, err := env.Start(); err != nil {
		// Start leaves whatever it managed to start running.
		_ = c.stop()
		return nil, fmt.Errorf("start control plane: %w", err)
	}

	admin, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = c.stop()
		return nil, fmt.Errorf("add admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		_ = c.stop()
		return nil, fmt.Errorf("kubeconfig for the admin user: %w", err)
	}
	c.kubeconfig = filepath.Join(workdir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, kubeconfig, 0o600); err != nil {
		_ = c.stop()
		return nil, err
	}
	c.host = admin.Config().Host
	return c, nil
}

// stop stops kube-apiserver and etcd and removes their temporary directories.
func (c *cluster) stop() error {
	err := c.env.Stop()
	c.logFile.Close()
	if err != nil {
		return fmt.Errorf("stop control plane: %w", err)
	}
	return nil
}

// env is the environment for a process that talks to the cluster as the admin user.
func (c *cluster) processEnv() []string {
	return append(baseEnv(), "KUBECONFIG="+c.kubeconfig)
}

// kubectl runs kubectl against the cluster and returns its standard output.
func (c *cluster) kubectl(ctx context.Context, stdin string, timeout time.Duration, args ...string) (string, error) {
	res, err := command{
		argv:    append([]string{c.kubectlBin}, args...),
		env:     c.processEnv(),
		stdin:   stdin,
		timeout: timeout,
	}.run(ctx)
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return res.stdout, nil
}
