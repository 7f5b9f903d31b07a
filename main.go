// Command manager runs the xpander-db-operator: it keeps each XpanderDatabase's managed
// Secret in step with the xpander.ai API.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	// The operator reads spec.timeZone with time.LoadLocation; embedding the zone database
	// makes that work in images without /usr/share/zoneinfo.
	_ "time/tzdata"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type config struct {
	apiURL, apiCAFile string
	apiTimeout        time.Duration
	metricsAddr       string
	metricsSecure     bool
	probeAddr         string
	leaderElect       bool
	leaderElectionNS  string
	leaderElectionID  string
	concurrency       int
	backoffBase       time.Duration
	backoffMax        time.Duration
	gracefulShutdown  time.Duration
	watchNamespaces   string
	shardSelector     string
	kubeQPS           float64
	kubeBurst         int
	answerMaxAge      time.Duration
	answerCacheSize   int
}

func main() {
	var c config
	flag.StringVar(&c.apiURL, "xpander-api-url", xpander.DefaultBaseURL,
		"Base URL of the xpander API (https only). Every API key is sent here and nowhere else.")
	flag.StringVar(&c.apiCAFile, "xpander-ca-file", "",
		"PEM bundle trusted for the xpander API in addition to the system roots.")
	flag.DurationVar(&c.apiTimeout, "xpander-timeout", xpander.DefaultTimeout,
		"Time limit for one xpander API call.")
	flag.StringVar(&c.metricsAddr, "metrics-bind-address", "0",
		"Address of the metrics endpoint, e.g. :8443; 0 turns it off.")
	flag.BoolVar(&c.metricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	flag.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081",
		"Address of the /healthz and /readyz endpoints; 0 turns them off.")
	flag.BoolVar(&c.leaderElect, "leader-elect", true,
		"Elect a leader so that only one of several replicas syncs at a time.")
	flag.StringVar(&c.leaderElectionID, "leader-election-id", "xpander-db-operator.database.xpander.ai",
		"Name of the leader election Lease; give each shard's Deployment its own.")
	flag.StringVar(&c.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease; required when running outside a cluster.")
	// Sixteen workers keep a first sync of many keys from waiting on the API's latency
	// (docs/performance.md: 30.9 s with 4, 9.3 s with 16, for 1000 keys 100 ms away).
	flag.IntVar(&c.concurrency, "max-concurrent-reconciles", 16,
		"How many XpanderDatabases sync at once.")
	flag.DurationVar(&c.backoffBase, "retry-backoff-base", time.Second,
		"First retry delay after a transient failure; it doubles on each further failure.")
	flag.DurationVar(&c.backoffMax, "retry-backoff-max", 5*time.Minute,
		"Longest retry delay after transient failures.")
	flag.DurationVar(&c.gracefulShutdown, "graceful-shutdown-timeout", 30*time.Second,
		"How long in-flight syncs may take to finish on shutdown.")
	flag.StringVar(&c.shardSelector, "watch-label-selector", "",
		"Label selector for the XpanderDatabases this operator handles, to split objects between "+
			"several operator Deployments (e.g. 'sharding.fluxcd.io/key in (shard1)'); empty handles all.")
	flag.DurationVar(&c.answerMaxAge, "api-answer-max-age", 5*time.Minute,
		"How long an xpander API answer serves other objects with the same key (never more than half "+
			"an object's refresh interval; requested syncs always ask). 0 turns sharing off.")
	flag.IntVar(&c.answerCacheSize, "api-answer-cache-size", 10000,
		"How many distinct keys' answers are kept for sharing; the oldest makes room.")
	// Measured in docs/performance.md: 50/100 held 1000 objects to 18 s, 200/400 brought
	// them to about 5.5 s on a small machine, and more gained nothing.
	flag.Float64Var(&c.kubeQPS, "kube-api-qps", 200,
		"Steady requests per second to the Kubernetes API server, per resource type.")
	flag.IntVar(&c.kubeBurst, "kube-api-burst", 400,
		"Requests the Kubernetes client may send at once above kube-api-qps, per resource type.")
	flag.StringVar(&c.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch; empty watches all. Objects elsewhere are ignored.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := run(c); err != nil {
		ctrl.Log.Error(err, "operator failed")
		os.Exit(1)
	}
}

func run(c config) error {
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(databasev1alpha1.AddToScheme(scheme))

	api, err := xpander.NewClient(xpander.Options{
		BaseURL:   c.apiURL,
		CAFile:    c.apiCAFile,
		Timeout:   c.apiTimeout,
		UserAgent: "xpander-db-operator/" + version,
	})
	if err != nil {
		return fmt.Errorf("configure xpander API client: %w", err)
	}

	metricsOpts := metricsserver.Options{
		BindAddress:   c.metricsAddr,
		SecureServing: c.metricsSecure,
		// HTTP/2 is off: it exposes the server to the Rapid Reset and Stream Cancellation
		// attacks (CVE-2023-44487, CVE-2023-39325) for no benefit on a metrics endpoint.
		TLSOpts: []func(*tls.Config){func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} }},
	}
	if c.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	var namespaces []string
	for _, ns := range strings.Split(c.watchNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			namespaces = append(namespaces, ns)
		}
	}

	shard, err := labels.Parse(c.shardSelector)
	if err != nil {
		return fmt.Errorf("--watch-label-selector: %w", err)
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(c.kubeQPS), c.kubeBurst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        c.probeAddr,
		LeaderElection:                c.leaderElect,
		LeaderElectionID:              c.leaderElectionID,
		LeaderElectionNamespace:       c.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &c.gracefulShutdown,
		Cache:                         controller.CacheOptions(namespaces, shard),
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	reconciler := &controller.XpanderDatabaseReconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Xpander:      xpander.NewCoalescer(api, c.answerCacheSize),
		AnswerMaxAge: c.answerMaxAge,
		Recorder:     mgr.GetEventRecorder("xpander-db-operator"),
	}
	err = reconciler.SetupWithManager(mgr, controller.Options{
		WatchNamespaces:         namespaces,
		MaxConcurrentReconciles: c.concurrency,
		BackoffBase:             c.backoffBase,
		BackoffMax:              c.backoffMax,
	})
	if err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}

	log.Info("starting operator", "version", version, "xpanderAPI", api.Endpoint(), "namespaces", namespaces, "shard", shard.String())
	return mgr.Start(ctrl.SetupSignalHandler())
}
