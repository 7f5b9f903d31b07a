// Package leaderelection_test runs two replicas of the operator on one control plane, both
// competing for the same leader election Lease as the replicas of one Deployment do, and
// checks that only the elected one syncs and that the other takes over when it stops.
//
// Each replica talks to a stand-in xpander API of its own, and each stand-in answers the
// same API key with a different database, so that both the API calls and what ends up in
// an object's status and Secret say which replica did the work.
package leaderelection_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// The Lease both replicas compete for: main.go's default --leader-election-id, in the
// namespace --leader-election-namespace would name outside a cluster.
const (
	leaseName      = "xpander-db-operator.database.xpander.ai"
	leaseNamespace = "default"
)

// Leader election timing, far shorter than a Deployment would use so that the tests are
// quick. A leader that stops releases the Lease, so a takeover waits for the follower's
// next retry, not for the lease to expire.
var (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// What the suite shares: the control plane's address, the scheme main.go builds, a client
// that reads and writes straight to the API server past both replicas' caches, and a
// directory for the stand-ins' certificates.
var (
	restConfig *rest.Config
	scheme     *k8sruntime.Scheme
	k8sClient  client.Client
	caDir      string
)

// suiteLogs holds what was logged outside the replicas; it is printed when a test fails.
var suiteLogs = &syncBuffer{}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(suiteLogs), zap.UseDevMode(true)))

	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(thisFile), "..", "..")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join(root, "bin", "k8s", "1.37.2-"+runtime.GOOS+"-"+runtime.GOARCH)
	}
	var err error
	restConfig, err = env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start envtest (run `make envtest` first): %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	scheme = k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := databasev1alpha1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k8sClient, err = client.New(restConfig, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	caDir, err = os.MkdirTemp("", "xpander-leaderelection-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(caDir)

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "logs from outside the replicas:\n%s", suiteLogs.String())
	}
	return code
}

// replica is one operator pod: a manager with its own reconciler, competing for the Lease,
// and the stand-in API only it calls.
type replica struct {
	name string
	// databaseID is the database this replica's stand-in reports for every key, so that
	// status.database.id tells which replica synced an object last.
	databaseID string

	api  *xpandertest.Server
	mgr  ctrl.Manager
	logs *syncBuffer

	cancel   context.CancelFunc
	stopped  chan struct{} // closed when the manager has returned
	stopOnce sync.Once
}

// startReplicas starts two replicas, each with a stand-in of its own, waits until one of
// them is elected, and returns the leader and the follower. Both are stopped, and their
// stand-ins closed, when the test ends.
func startReplicas(t *testing.T) (leader, follower *replica) {
	t.Helper()
	g := newG(t)

	replicas := []*replica{
		{name: "replica-a", databaseID: "replica-a-db"},
		{name: "replica-b", databaseID: "replica-b-db"},
	}
	for _, r := range replicas {
		r.api = xpandertest.NewServer()
		// Registered before the replicas' stops, so it runs after them: a replica stops
		// before the server it calls.
		t.Cleanup(r.api.Close)
	}
	for _, r := range replicas {
		g.Expect(r.start()).To(Succeed(), "start %s", r.name)
		t.Cleanup(func() {
			r.stop()
			if t.Failed() {
				t.Logf("%s logs:\n%s", r.name, r.logs.String())
			}
		})
	}

	g.Eventually(func(g Gomega) {
		var elected []string
		for _, r := range replicas {
			if r.isElected() {
				elected = append(elected, r.name)
				leader = r
			}
		}
		g.Expect(elected).To(HaveLen(1), "elected replicas")
	}).Should(Succeed())
	follower = replicas[0]
	if follower == leader {
		follower = replicas[1]
	}
	return leader, follower
}

// start runs the replica as main.go wires the operator, with leader election on and no
// shard selector, and returns once its caches have synced: a follower keeps its caches
// warm while it waits for the Lease.
func (r *replica) start() error {
	logOpts, err := r.logOptions()
	if err != nil {
		return err
	}
	r.logs = &syncBuffer{}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        zap.New(zap.UseFlagOptions(logOpts), zap.WriteTo(r.logs)).WithName(r.name),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              leaseName,
		LeaderElectionNamespace:       leaseNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		Cache:                         controller.CacheOptions(nil, nil),
		// Both replicas register a controller named xpanderdatabase in this one process;
		// in a cluster each runs in a pod of its own, where the name is unique.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	caFile := filepath.Join(caDir, fmt.Sprintf("%s-%d-ca.pem", r.name, time.Now().UnixNano()))
	if err := os.WriteFile(caFile, r.api.CACertPEM(), 0o600); err != nil {
		return err
	}
	api, err := xpander.NewClient(xpander.Options{
		BaseURL: r.api.URL,
		CAFile:  caFile,
		Timeout: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("create xpander client: %w", err)
	}

	rec := &controller.XpanderDatabaseReconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Xpander:      xpander.NewCoalescer(api, 100),
		AnswerMaxAge: 5 * time.Minute,
		Recorder:     mgr.GetEventRecorder("xpander-db-operator"),
	}
	err = rec.SetupWithManager(mgr, controller.Options{
		MaxConcurrentReconciles: 2,
		BackoffBase:             50 * time.Millisecond,
		BackoffMax:              time.Second,
	})
	if err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	r.mgr = mgr

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.stopped = make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer close(r.stopped)
		err := mgr.Start(ctx)
		if err != nil {
			fmt.Fprintf(r.logs, "the manager stopped: %v\n", err)
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

// logOptions are the operator's logging flags as a user would pass them to see each
// reconciliation's decision: JSON lines, verbosity 2. Above debug (verbosity 1) zap
// samples nothing, so no decision is dropped from a busy second.
func (r *replica) logOptions() (*zap.Options, error) {
	opts := &zap.Options{}
	fs := flag.NewFlagSet(r.name, flag.ContinueOnError)
	opts.BindFlags(fs)
	if err := fs.Parse([]string{"--zap-encoder=json", "--zap-log-level=2"}); err != nil {
		return nil, fmt.Errorf("parse log flags: %w", err)
	}
	return opts, nil
}

// stop cancels the replica's context, as the kubelet's SIGTERM does, and waits for the
// manager to return; by then a leader has released the Lease.
func (r *replica) stop() {
	r.stopOnce.Do(func() {
		r.cancel()
		<-r.stopped
	})
}

// isElected reports whether the replica holds the Lease and runs its controller.
func (r *replica) isElected() bool {
	select {
	case <-r.mgr.Elected():
		return true
	default:
		return false
	}
}

// foundNotDue reports whether the replica's reconciler looked at the object and decided
// that no sync was due, going by its debug log.
func (r *replica) foundNotDue(key types.NamespacedName) bool {
	for _, line := range strings.Split(r.logs.String(), "\n") {
		var entry struct {
			Msg       string `json:"msg"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry.Msg == "sync not due" && entry.Namespace == key.Namespace && entry.Name == key.Name {
			return true
		}
	}
	return false
}

// leaseHolder returns the identity that holds the Lease, "" when nobody does.
func leaseHolder(g Gomega) string {
	lease := &coordinationv1.Lease{}
	key := types.NamespacedName{Namespace: leaseNamespace, Name: leaseName}
	g.Expect(k8sClient.Get(context.Background(), key, lease)).To(Succeed())
	return ptr.Deref(lease.Spec.HolderIdentity, "")
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

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
