package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// One control plane, one manager and one stand-in API serve every test in this package.
var (
	k8sClient client.Client
	standin   *xpandertest.Server
	testClock = &offsetClock{}
	logSink   = &recordingWriter{}
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(logSink), zap.UseDevMode(true)))

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

	standin = xpandertest.NewServer()
	defer standin.Close()

	if err := SetupScheme(clientgoscheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 clientgoscheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	caFile := filepath.Join(os.TempDir(), fmt.Sprintf("xpander-standin-ca-%d.pem", os.Getpid()))
	if err := os.WriteFile(caFile, standin.CACertPEM(), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.Remove(caFile)
	api, err := xpander.NewClient(xpander.Options{BaseURL: standin.URL, CAFile: caFile, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	r := &XpanderDatabaseReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Xpander:   api,
		Recorder:  mgr.GetEventRecorder("xpander-db-operator"),
		Clock:     testClock,
	}
	err = r.SetupWithManager(mgr, Options{
		MaxConcurrentReconciles: 4,
		BackoffBase:             50 * time.Millisecond,
		BackoffMax:              time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	k8sClient, err = client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	code := m.Run()
	if path := os.Getenv("XDB_TEST_LOG"); path != "" {
		_ = os.WriteFile(path, []byte(logSink.String()), 0o600)
	}
	return code
}

// offsetClock is the real clock moved forward by Advance, so that a test can let a refresh
// interval pass without waiting for it.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// recordingWriter keeps every log line the operator wrote, for the tests that check no
// secret reaches a log.
type recordingWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *recordingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// newNamespace creates a namespace of its own for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xdb-test-"}}
	gomega.NewWithT(t).Expect(k8sClient.Create(context.Background(), ns)).To(gomega.Succeed())
	return ns.Name
}
