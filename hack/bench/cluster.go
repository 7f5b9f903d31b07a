package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// crdDir holds the CRD the control plane is given before anything else starts.
const crdDir = "config/crd/bases"

// cluster is a local control plane (etcd and kube-apiserver, nothing else: no garbage
// collector, no namespace controller), a kubeconfig for an admin user, and bench's clients.
type cluster struct {
	env        *envtest.Environment
	logFile    *os.File
	kubeconfig string
	cfg        *rest.Config
	scheme     *runtime.Scheme
	// client fills the cluster and watches it. It has no client-side rate limit, so that
	// setting a run up takes seconds and its watches never wait.
	client client.WithWatch
	// serverHTTP reaches the API server with the admin's credentials, for its /metrics.
	serverHTTP *http.Client
}

// startCluster starts etcd and kube-apiserver from assets, installs the CRD and writes an
// admin kubeconfig into dir. Their output goes to dir/control-plane.log.
func startCluster(assets, repo, dir string) (*cluster, error) {
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, name)); err != nil {
			return nil, fmt.Errorf("no %s in %s (run `make envtest`, or pass --assets): %w", name, assets, err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "control-plane.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	// controller-runtime's and client-go's own logging (a watch ended, and so on) goes to
	// the log file too, not between bench's progress lines.
	logger := zap.New(zap.WriteTo(logFile))
	logf.SetLogger(logger)
	klog.SetLogger(logger)

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
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if _, err := c.env.Start(); err != nil {
		// Start leaves running whatever it managed to start.
		_ = c.stop()
		return nil, fmt.Errorf("start the control plane: %w", err)
	}
	if err := c.connect(dir); err != nil {
		_ = c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) connect(dir string) error {
	admin, err := c.env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add an admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig for the admin user: %w", err)
	}
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}

	c.cfg = admin.Config()
	if err := loopbackOnly(c.cfg.Host); err != nil {
		return err
	}
	c.cfg.QPS, c.cfg.Burst = -1, 0 // no client-side limit
	c.scheme = runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(c.scheme))
	utilruntime.Must(databasev1alpha1.AddToScheme(c.scheme))
	if c.client, err = client.NewWithWatch(c.cfg, client.Options{Scheme: c.scheme}); err != nil {
		return fmt.Errorf("create a client: %w", err)
	}
	if c.serverHTTP, err = rest.HTTPClientFor(c.cfg); err != nil {
		return fmt.Errorf("create an HTTP client for the API server: %w", err)
	}
	return nil
}

// loopbackOnly refuses an API server anywhere but 127.0.0.1.
func loopbackOnly(host string) error {
	u, err := url.Parse(host)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("refusing to use API server %q: not on 127.0.0.1", host)
	}
	return nil
}

// serverMetrics reads the API server's own /metrics.
func (c *cluster) serverMetrics(ctx context.Context) (metrics, error) {
	return scrape(ctx, c.serverHTTP, strings.TrimSuffix(c.cfg.Host, "/")+"/metrics")
}

// newClient returns a fresh client of its own, with its own connections and no client-side
// rate limit, for the raw floor.
func (c *cluster) newClient() (client.Client, error) {
	cfg := rest.CopyConfig(c.cfg)
	cfg.QPS, cfg.Burst = -1, 0
	return client.New(cfg, client.Options{Scheme: c.scheme})
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
