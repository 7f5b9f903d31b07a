package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// crdDir holds the CRD that the control plane is given before anything else starts.
const crdDir = "config/crd/bases"

// cluster is a local control plane (etcd and kube-apiserver only), a kubeconfig for an admin
// user on it, and membench's own client.
type cluster struct {
	env        *envtest.Environment
	logFile    *os.File
	kubeconfig string
	client     client.Client
}

// startCluster starts etcd and kube-apiserver from assets, installs the CRD and writes an
// admin kubeconfig into workdir. Their output goes to control-plane.log there.
func startCluster(assets, repo, workdir string) (*cluster, error) {
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

	c := &cluster{logFile: logFile}
	c.env = &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{Path: filepath.Join(assets, "kube-apiserver"), Out: logFile, Err: logFile},
			Etcd:      &envtest.Etcd{Path: filepath.Join(assets, "etcd"), Out: logFile, Err: logFile},
		},
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{filepath.Join(repo, crdDir)},
			ErrorIfPathMissing: true,
		},
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if _, err := c.env.Start(); err != nil {
		// Start leaves running whatever it managed to start.
		_ = c.stop()
		return nil, fmt.Errorf("start the control plane: %w", err)
	}
	if err := c.connect(workdir); err != nil {
		_ = c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) connect(workdir string) error {
	admin, err := c.env.AddUser(envtest.User{Name: "membench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add an admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig for the admin user: %w", err)
	}
	c.kubeconfig = filepath.Join(workdir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(databasev1alpha1.AddToScheme(scheme))
	cfg := admin.Config()
	// Only membench's own client is let off client-go's default rate limit, so that filling
	// the cluster takes seconds; the processes measured keep their defaults.
	cfg.QPS, cfg.Burst = 2000, 4000
	if c.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("create a client: %w", err)
	}
	return nil
}

// stop stops kube-apiserver and etcd and removes their data.
func (c *cluster) stop() error {
	err := c.env.Stop()
	c.logFile.Close()
	if err != nil {
		return fmt.Errorf("stop the control plane: %w", err)
	}
	return nil
}
