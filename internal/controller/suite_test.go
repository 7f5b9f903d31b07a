package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// One control plane, one manager and one stand-in API serve every test in this package.
var (
	// metricsAddr is where the manager serves its metrics, plain HTTP on loopback.
	metricsAddr string
	k8sClient   client.Client
	watchClient client.WithWatch
	standin     *xpandertest.Server
	testClock   = &offsetClock{}
	logSink     = &recordingWriter{}
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

	metricsAddr, err = freeLoopbackAddr()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := SetupScheme(clientgoscheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 clientgoscheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions(nil, nil),
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

	coalescer := xpander.NewCoalescer(api, 1000)
	coalescer.SetClock(testClock.Now)
	r := &XpanderDatabaseReconciler{
		Client:       refusingStatusClient{mgr.GetClient()},
		APIReader:    mgr.GetAPIReader(),
		Xpander:      coalescer,
		AnswerMaxAge: 5 * time.Minute,
		Recorder:     mgr.GetEventRecorder("xpander-db-operator"),
		Clock:        testClock,
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
	watchClient, err = client.NewWithWatch(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	code := m.Run()
	if path := os.Getenv("XDB_TEST_LOG"); path != "" {
		_ = os.WriteFile(path, []byte(logSink.String()), 0o600)
	}
	if code == 0 {
		if err := checkNoSecretLeaked(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: secret leak check:", err)
			return 1
		}
	}
	return code
}

// checkNoSecretLeaked looks for every API key, password and URI the tests used in
// everything the operator said while they ran: its log, the events it emitted and the
// status of every XpanderDatabase.
func checkNoSecretLeaked(ctx context.Context) error {
	var said []string
	said = append(said, logSink.String())

	events := &eventsv1.EventList{}
	if err := k8sClient.List(ctx, events); err != nil {
		return err
	}
	for _, e := range events.Items {
		said = append(said, e.Reason+" "+e.Note)
	}
	objs := &databasev1alpha1.XpanderDatabaseList{}
	if err := k8sClient.List(ctx, objs); err != nil {
		return err
	}
	for _, o := range objs.Items {
		b, err := json.Marshal(o.Status)
		if err != nil {
			return err
		}
		said = append(said, string(b))
	}

	if text, err := scrapeMetrics(); err == nil {
		said = append(said, text)
	} else {
		return fmt.Errorf("scrape metrics: %w", err)
	}

	all := strings.Join(said, "\n")
	for _, secret := range usedSecrets.list() {
		if strings.Contains(all, secret) {
			return fmt.Errorf("a secret value used by the tests appears in the operator's output (%d bytes scanned)", len(all))
		}
	}
	fmt.Printf("secret leak check: %d secret values, %d log bytes, %d events, %d objects: none found\n",
		len(usedSecrets.list()), len(logSink.String()), len(events.Items), len(objs.Items))
	return nil
}

// secretSet collects the secret values the tests hand the operator.
type secretSet struct {
	mu     sync.Mutex
	values []string
}

var usedSecrets = &secretSet{}

func (s *secretSet) add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = append(s.values, values...)
}

func (s *secretSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.values...)
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

// refuseStatusWrites holds, by "namespace/name", how many status writes to refuse with a
// conflict before letting them through.
var refuseStatusWrites sync.Map

type refusingStatusClient struct{ client.Client }

func (c refusingStatusClient) Status() client.SubResourceWriter {
	return refusingStatusWriter{c.Client.Status()}
}

type refusingStatusWriter struct{ client.SubResourceWriter }

func (w refusingStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	key := obj.GetNamespace() + "/" + obj.GetName()
	if v, ok := refuseStatusWrites.Load(key); ok && v.(int) > 0 {
		refuseStatusWrites.Store(key, v.(int)-1)
		return apierrors.NewConflict(schema.GroupResource{Group: "database.xpander.ai", Resource: "xpanderdatabases"},
			obj.GetName(), errors.New("the object has been modified"))
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
