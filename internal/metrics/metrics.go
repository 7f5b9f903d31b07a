// Package metrics defines the operator's Prometheus metrics, registered with
// controller-runtime's registry so that they are served on its metrics endpoint next to the
// controller's own. No label ever holds a key, a URI, a password or an organization id.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// Syncs counts sync attempts by result ("success" or "failure") and condition reason.
	Syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xpander_db_syncs_total",
		Help: "Sync attempts, by result (success, failure) and condition reason.",
	}, []string{"result", "reason"})

	// APIRequests counts calls to the xpander API by HTTP status class ("2xx", "4xx", "5xx")
	// or "error" when no answer came.
	APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xpander_db_api_requests_total",
		Help: "Calls to the xpander API, by HTTP status class (2xx, 3xx, 4xx, 5xx) or error when no answer came.",
	}, []string{"code"})

	// APIRequestDuration observes how long xpander API calls take.
	APIRequestDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "xpander_db_api_request_duration_seconds",
		Help:    "Time taken by calls to the xpander API, answered or not.",
		Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	})

	// SecretWrites counts writes to managed Secrets by operation.
	SecretWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xpander_db_secret_writes_total",
		Help: "Writes to managed Secrets, by operation (create, update, delete).",
	}, []string{"operation"})

	// Rotations counts syncs that found a new credential.
	Rotations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xpander_db_rotations_total",
		Help: "Syncs that found a credential different from the one the Secret held.",
	})

	// LastSuccess is the time of each object's last successful sync; a series goes away
	// with its object.
	LastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "xpander_db_last_success_timestamp_seconds",
		Help: "Unix time of the last successful sync of each XpanderDatabase.",
	}, []string{"namespace", "name"})
)

func init() {
	metrics.Registry.MustRegister(Syncs, APIRequests, APIRequestDuration, SecretWrites, Rotations, LastSuccess)
}

// StatusClass returns an HTTP status's class label, "2xx" for 200 and so on.
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "error"
	}
	return string(rune('0'+code/100)) + "xx"
}
