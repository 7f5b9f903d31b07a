package main

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

func TestParseFlagDefaultsReadsTheFlagPackagesUsage(t *testing.T) {
	usage := `Usage of manager:
  -kube-api-burst int
    	Requests the Kubernetes client may send at once above kube-api-qps. (default 100)
  -kube-api-qps float
    	Steady requests per second to the Kubernetes API server. (default 50)
  -leader-election-namespace string
    	Namespace of the lease.
  -metrics-bind-address string
    	Address of the metrics endpoint, or 0 to turn it off. (default "0")
`
	got := parseFlagDefaults(usage)
	want := map[string]string{"kube-api-burst": "100", "kube-api-qps": "50", "metrics-bind-address": "0"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default of --%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestParseMetricsSumsSeriesByLabel(t *testing.T) {
	body := []byte(`# HELP rest_client_requests_total Number of HTTP requests.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 7
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 3
rest_client_requests_total{code="404",host="127.0.0.1:6443",method="GET"} 1
xpander_db_secret_writes_total{operation="create"} 3
odd_label{v="a \"quoted\" value"} 2
go_goroutines 42
`)
	m := parseMetrics(body)
	cases := map[string]struct {
		got, want float64
	}{
		"every GET, whatever its code":      {m.sum("rest_client_requests_total", map[string]string{"method": "GET"}), 8},
		"a series without labels":           {m.sum("go_goroutines", nil), 42},
		"a label value with escaped quotes": {m.sum("odd_label", map[string]string{"v": `a "quoted" value`}), 2},
		"POSTs grouped by method":           {m.by("rest_client_requests_total", "method")["POST"], 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestChangedFieldsNamesOnlyWhatARefreshChanged(t *testing.T) {
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Synced",
		LastTransitionTime: metav1.NewTime(first)}
	before := &databasev1alpha1.XpanderDatabaseStatus{
		ObservedGeneration: 1,
		Conditions:         []metav1.Condition{ready},
		SecretName:         "db-conn",
		LastSyncTime:       &metav1.Time{Time: first},
		NextSyncTime:       &metav1.Time{Time: first.Add(time.Minute)},
	}
	after := before.DeepCopy()
	after.LastSyncTime = &metav1.Time{Time: first.Add(time.Minute)}
	after.NextSyncTime = &metav1.Time{Time: first.Add(2 * time.Minute)}

	got := changedFields(before, after)
	if len(got) != 2 || got[0] != "lastSyncTime" || got[1] != "nextSyncTime" {
		t.Errorf("got %v, want [lastSyncTime nextSyncTime]", got)
	}

	after.Conditions[0].LastTransitionTime = metav1.NewTime(first.Add(time.Minute))
	got = changedFields(before, after)
	if len(got) != 3 || got[0] != "conditions[Ready]" {
		t.Errorf("got %v, want the Ready condition named first", got)
	}
}
