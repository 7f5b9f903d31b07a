package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// syncedLine starts the line the naive cache prints once its informer has synced; membench
// waits for it in the child's log.
const syncedLine = "naive cache synced:"

// runNaiveCache is the comparison point: a controller-runtime manager whose cache holds every
// Secret in the cluster as a full object, with data, annotations and managedFields, which is
// what a generic syncer that watches Secrets gets by default. It runs no controller and
// serves the same Go and process metrics as the operator on metricsAddr (127.0.0.1 only).
func runNaiveCache(metricsAddr string) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := naiveCache(ctx, metricsAddr); err != nil {
		fmt.Fprintf(os.Stderr, "naive cache: %v\n", err)
		return 1
	}
	return 0
}

func naiveCache(ctx context.Context, metricsAddr string) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	// Asking for the informer before the manager starts registers it; the manager starts it.
	informer, err := mgr.GetCache().GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("get the Secret informer: %w", err)
	}

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("the Secret cache did not sync: %w", <-done)
	}
	// The informer's own store, so that counting copies nothing.
	withStore, ok := informer.(interface{ GetStore() toolscache.Store })
	if !ok {
		return fmt.Errorf("the informer (%T) has no store to count", informer)
	}
	fmt.Printf("%s %d Secrets\n", syncedLine, len(withStore.GetStore().ListKeys()))
	return <-done
}
