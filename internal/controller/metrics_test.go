package controller

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// scrapeMetrics fetches the manager's metrics endpoint as a Prometheus server would.
func scrapeMetrics() (string, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("metrics endpoint answered %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// sample returns the value of the series with the given labels, or -1 when it is absent.
func sample(t *testing.T, text, name string, labels map[string]string) float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	fam, ok := families[name]
	if !ok {
		return -1
	}
	for _, m := range fam.Metric {
		if matches(m, labels) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func matches(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

func TestTheMetricsEndpointTellsWhatHappened(t *testing.T) {
	f := newFixture(t)
	g := f.g
	scrape := func() string {
		text, err := scrapeMetrics()
		g.Expect(err).NotTo(HaveOccurred())
		return text
	}
	before := scrape()
	value := func(text, name string, labels map[string]string) float64 {
		return max(sample(t, text, name, labels), 0)
	}
	delta := func(name string, labels map[string]string) float64 {
		return value(scrape(), name, labels) - value(before, name, labels)
	}

	f.create()
	obj := f.waitReady()
	lastSuccess := map[string]string{"namespace": f.namespace, "name": "db"}
	g.Eventually(func() float64 { return sample(t, scrape(), "xpander_db_last_success_timestamp_seconds", lastSuccess) }).
		Should(Equal(float64(obj.Status.LastSyncTime.Unix())))
	g.Expect(delta("xpander_db_syncs_total", map[string]string{"result": "success", "reason": "Synced"})).To(BeNumerically(">=", 1))
	g.Expect(delta("xpander_db_secret_writes_total", map[string]string{"operation": "create"})).To(BeNumerically(">=", 1))
	g.Expect(delta("xpander_db_api_requests_total", map[string]string{"code": "2xx"})).To(BeNumerically(">=", 1))
	g.Expect(delta("xpander_db_api_request_duration_seconds", nil)).To(BeNumerically(">=", 1))

	// A server error, then a rotation.
	f.answer(http.StatusBadGateway, `{"detail":"bad gateway"}`)
	f.requestSync(SyncRequestAnnotation)
	f.waitReason(databasev1alpha1.APIServerErrorReason)
	g.Expect(delta("xpander_db_syncs_total", map[string]string{"result": "failure", "reason": "APIServerError"})).To(BeNumerically(">=", 1))
	g.Expect(delta("xpander_db_api_requests_total", map[string]string{"code": "5xx"})).To(BeNumerically(">=", 1))

	f.rotate("metrics/rotated+pw")
	g.Eventually(func() float64 { return delta("xpander_db_rotations_total", nil) }, 30*time.Second).Should(BeNumerically(">=", 1))
	g.Expect(delta("xpander_db_secret_writes_total", map[string]string{"operation": "update"})).To(BeNumerically(">=", 1))

	// The object's series goes away with it.
	g.Expect(k8sClient.Delete(f.ctx, f.current())).To(Succeed())
	g.Eventually(func() float64 { return sample(t, scrape(), "xpander_db_last_success_timestamp_seconds", lastSuccess) }).
		Should(Equal(-1.0))
}
