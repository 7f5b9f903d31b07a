// Package sharding_test runs two operators side by side on one control plane, each on its
// own shard of XpanderDatabases (chosen with --watch-label-selector, the way Flux shards
// its controllers), and checks that each syncs only the objects its selector picks.
//
// Each operator talks to a stand-in xpander API of its own, and each stand-in answers the
// same API key with a different database, so that both the API calls and what ends up in
// an object's status and Secret say which operator did the work.
package sharding_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// shardKey is the label Flux uses to assign objects to controller shards.
const shardKey = "sharding.fluxcd.io/key"

// operator is one operator Deployment: a manager with its own reconciler, the selector
// it was started with, and the stand-in API only it calls.
type operator struct {
	name     string
	selector string
	// databaseID is the database this operator's stand-in reports for every key, so that
	// status.database.id tells which operator synced an object last.
	databaseID string

	api   *xpandertest.Server
	cache client.Reader
}

// The two operators, as a cluster sharded the Flux way would run them: the default shard
// takes every object without the shard label, shard1 the objects labelled shard1.
var (
	defaultShard = &operator{
		name:       "default-shard",
		selector:   "!" + shardKey,
		databaseID: "default-shard-db",
	}
	shard1 = &operator{
		name:       "shard1",
		selector:   shardKey + " in (shard1)",
		databaseID: "shard1-db",
	}
)

// k8sClient reads and writes straight to the API server, past both operators' caches.
var k8sClient client.Client

// logs holds what both operators logged; it is printed when a test fails.
var logs = &syncBuffer{}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))

	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(thisFile), "..", "..")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join(root, "bin", "k8s", "1.37.2-"+runtime.GOOS+"-"+runtime.GOARCH)
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start envtest (run `make envtest` first): %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	scheme := k8sruntime.NewScheme()
	if err := controller.SetupScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	caDir, err := os.MkdirTemp("", "xpander-sharding-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(caDir)

	operators := []*operator{defaultShard, shard1}
	for _, op := range operators {
		op.api = xpandertest.NewServer()
		defer op.api.Close()
	}

	// Deferred after the stand-ins' Close, so it runs first: the operators stop before
	// the servers they call.
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	defer func() {
		cancel()
		running.Wait()
	}()
	for _, op := range operators {
		if err := op.start(ctx, cfg, scheme, caDir, &running); err != nil {
			fmt.Fprintf(os.Stderr, "start the %s operator: %v\n", op.name, err)
			return 1
		}
	}

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "operator logs:\n%s", logs.String())
	}
	return code
}

// start runs the operator as main.go wires it, on its own shard and against its own
// stand-in, and returns once its caches have synced.
func (op *operator) start(ctx context.Context, cfg *rest.Config, scheme *k8sruntime.Scheme,
	caDir string, running *sync.WaitGroup) error {
	shard, err := labels.Parse(op.selector)
	if err != nil {
		return fmt.Errorf("parse selector %q: %w", op.selector, err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 ctrl.Log.WithName(op.name),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(nil, shard),
		// Both operators register a controller named xpanderdatabase in this one process;
		// in a cluster each runs in a process of its own, where the name is unique.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	caFile := filepath.Join(caDir, op.name+"-ca.pem")
	if err := os.WriteFile(caFile, op.api.CACertPEM(), 0o600); err != nil {
		return err
	}
	api, err := xpander.NewClient(xpander.Options{
		BaseURL: op.api.URL,
		CAFile:  caFile,
		Timeout: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("create xpander client: %w", err)
	}

	r := &controller.XpanderDatabaseReconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Xpander:      xpander.NewCoalescer(api, 100),
		AnswerMaxAge: 5 * time.Minute,
		Recorder:     mgr.GetEventRecorder("xpander-db-operator"),
	}
	err = r.SetupWithManager(mgr, controller.Options{
		MaxConcurrentReconciles: 2,
		BackoffBase:             50 * time.Millisecond,
		BackoffMax:              time.Second,
	})
	if err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	op.cache = mgr.GetCache()

	done := make(chan error, 1)
	running.Add(1)
	go func() {
		defer running.Done()
		err := mgr.Start(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "the %s operator stopped: %v\n", op.name, err)
		}
		done <- err
	}()

	synced := make(chan bool, 1)
	go func() { synced <- mgr.GetCache().WaitForCacheSync(ctx) }()
	select {
	case ok := <-synced:
		if !ok {
			return errors.New("caches did not sync")
		}
		return nil
	case err := <-done:
		return fmt.Errorf("manager stopped before its caches synced: %w", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the operators' concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
