package controller

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

// callTimes returns when the stand-in received the fixture key's calls.
func (f *fixture) callTimes() []time.Time {
	var out []time.Time
	for _, c := range standin.CallLog() {
		if c.APIKey == f.apiKey {
			out = append(out, c.Time)
		}
	}
	return out
}

func TestRetryAfterIsHonouredEvenWhenEventsArrive(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	good := f.secret("db")

	standin.Script(f.apiKey, xpandertest.Response{
		Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"3"}},
		Body:   `{"detail":"slow down"}`,
	})
	f.requestSync(SyncRequestAnnotation)
	obj := f.waitReason(databasev1alpha1.RateLimitedReason)
	g := f.g
	g.Expect(obj.Status.ConsecutiveFailures).To(Equal(int32(1)))
	g.Expect(obj.Status.NextSyncTime.Sub(obj.Status.LastAttemptTime.Time)).To(Equal(3 * time.Second))
	g.Expect(findCondition(obj, databasev1alpha1.ReconcilingCondition).Message).To(HavePrefix("retrying in 3s"))

	// Events on the Secret during the wait do not bring the next call forward.
	f.touch("db")
	f.touch("db")
	touched := f.secret("db").ResourceVersion
	g.Consistently(func() int { return standin.Calls(f.apiKey) }, 2*time.Second).Should(Equal(2))

	obj = f.waitReady()
	calls := f.callTimes()
	g.Expect(calls).To(HaveLen(3))
	g.Expect(calls[2].Sub(calls[1])).To(BeNumerically(">=", 2900*time.Millisecond), "no call before Retry-After")
	g.Expect(obj.Status.ConsecutiveFailures).To(BeZero(), "a success resets the count")
	g.Expect(f.secret("db").ResourceVersion).To(Equal(touched), "the same answer writes nothing")
	g.Expect(f.secret("db").Data).To(Equal(good.Data))
}

func TestServerErrorsBackOffAndASuccessResets(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	good := f.secret("db")

	f.answer(http.StatusInternalServerError, `{"detail":"boom"}`)
	f.requestSync(SyncRequestAnnotation)
	g := f.g
	g.Eventually(func() int32 { return f.current().Status.ConsecutiveFailures }).Should(BeNumerically(">=", 5))
	g.Expect(f.secret("db").ResourceVersion).To(Equal(good.ResourceVersion), "the last good Secret stays")

	// The suite's backoff starts at 50ms and doubles: each wait is at least as long as
	// the backoff for the failures so far, whatever else happens meanwhile.
	calls := f.callTimes()[1:] // the first was the good sync
	for i := 1; i < len(calls) && i < 5; i++ {
		want := 50 * time.Millisecond << (i - 1)
		g.Expect(calls[i].Sub(calls[i-1])).To(BeNumerically(">=", want-5*time.Millisecond), "wait after failure %d", i)
	}

	standin.SetDatabase(f.apiKey, xpandertest.NewDatabase("still-meadow-47437464", "f47ac10b-58cc-4372-a567-0e02b2c3d479", f.uri))
	obj := f.waitReady()
	g.Expect(obj.Status.ConsecutiveFailures).To(BeZero())
	g.Expect(obj.Status.LastSyncTime.Time).To(Equal(obj.Status.LastAttemptTime.Time))
}

func TestTenMinutesOfServerErrorsCostAboutTenCalls(t *testing.T) {
	r := &XpanderDatabaseReconciler{} // the defaults: 1s doubling to 5m
	calls, elapsed := 0, time.Duration(0)
	for failures := int32(1); elapsed < 10*time.Minute; failures++ {
		calls++
		elapsed += r.backoff(failures)
	}
	g := NewWithT(t)
	g.Expect(calls).To(BeNumerically("<=", 10))
	for failures, want := range map[int32]time.Duration{1: time.Second, 2: 2 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 30: 5 * time.Minute} {
		got := r.backoff(failures)
		g.Expect(got).To(BeNumerically(">=", want), "after %d failures", failures)
		g.Expect(got).To(BeNumerically("<=", want+want/10), "after %d failures", failures)
	}
}

func TestARefusedStatusWriteIsRetriedWithoutAskingTheAPIAgain(t *testing.T) {
	f := newFixture(t)
	refuseStatusWrites.Store(f.namespace+"/db", 1)
	f.create()
	obj := f.waitReady()
	g := f.g
	left, _ := refuseStatusWrites.Load(f.namespace + "/db")
	g.Expect(left).To(Equal(0), "the first status write was refused")
	g.Expect(standin.Calls(f.apiKey)).To(Equal(1), "and retried without a second API call")
	g.Expect(obj.Status.SecretName).To(Equal("db"))
}
