package schedule

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

func object(uid string, spec databasev1alpha1.XpanderDatabaseSpec) *databasev1alpha1.XpanderDatabase {
	return &databasev1alpha1.XpanderDatabase{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: spec}
}

func TestJitterIsDeterministicBoundedAndSpread(t *testing.T) {
	g := NewWithT(t)
	const bound = 6 * time.Minute
	buckets := make([]int, 6) // one per minute of the bound
	for i := range 1000 {
		uid := types.UID(fmt.Sprintf("8a3c1f0e-0000-4000-8000-%012d", i))
		j := Jitter(uid, bound)
		g.Expect(j).To(BeNumerically(">=", 0))
		g.Expect(j).To(BeNumerically("<", bound))
		g.Expect(Jitter(uid, bound)).To(Equal(j), "the same object always gets the same jitter")
		buckets[j/time.Minute]++
	}
	for minute, n := range buckets {
		// 1000 objects over 6 buckets: about 167 each; a lopsided hash would leave some
		// nearly empty.
		g.Expect(n).To(BeNumerically(">", 120), "objects with jitter in minute %d", minute)
	}
	g.Expect(Jitter("any", 500*time.Millisecond)).To(BeZero(), "no jitter below a second")
}

func TestNextSyncTimes(t *testing.T) {
	last := time.Date(2026, 12, 4, 10, 17, 30, 0, time.UTC)
	cases := []struct {
		name   string
		spec   databasev1alpha1.XpanderDatabaseSpec
		after  time.Time     // the next sync is at or after this
		within time.Duration // and before after+within
	}{
		{
			name:   "the default interval is an hour plus at most five minutes",
			after:  last.Add(time.Hour),
			within: 5 * time.Minute,
		},
		{
			name:   "a short interval gets at most a tenth of itself",
			spec:   databasev1alpha1.XpanderDatabaseSpec{RefreshInterval: &metav1.Duration{Duration: 10 * time.Minute}},
			after:  last.Add(10 * time.Minute),
			within: time.Minute,
		},
		{
			name:   "an interval under the CRD's minimum is held to one minute",
			spec:   databasev1alpha1.XpanderDatabaseSpec{RefreshInterval: &metav1.Duration{Duration: time.Second}},
			after:  last.Add(time.Minute),
			within: 6 * time.Second,
		},
		{
			name:   "a cron schedule lands in its window, at most a minute late",
			spec:   databasev1alpha1.XpanderDatabaseSpec{Schedule: "0 3 * * 0"},
			after:  time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC), // the next Sunday, 03:00 UTC
			within: time.Minute,
		},
		{
			name:   "a cron schedule is read in its time zone",
			spec:   databasev1alpha1.XpanderDatabaseSpec{Schedule: "30 2 * * *", TimeZone: "America/New_York"},
			after:  time.Date(2026, 12, 5, 7, 30, 0, 0, time.UTC), // 02:30 EST is 07:30 UTC
			within: time.Minute,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s, err := For(object("2f1d1a7e-5b0c-4a57-b9f5-8d6c2e3b4a10", tc.spec))
			g.Expect(err).NotTo(HaveOccurred())
			next := s.Next(last)
			g.Expect(next).To(BeTemporally(">=", tc.after))
			g.Expect(next).To(BeTemporally("<", tc.after.Add(tc.within)))
		})
	}
}

func TestBadSchedulesAreRefusedWithTheField(t *testing.T) {
	cases := []struct {
		name string
		spec databasev1alpha1.XpanderDatabaseSpec
		want string
	}{
		{"six fields", databasev1alpha1.XpanderDatabaseSpec{Schedule: "0 0 3 * * 0"}, "spec.schedule"},
		{"an hour out of range", databasev1alpha1.XpanderDatabaseSpec{Schedule: "0 25 * * *"}, "spec.schedule"},
		{"a descriptor instead of fields", databasev1alpha1.XpanderDatabaseSpec{Schedule: "@daily"}, "spec.schedule"},
		{"an unknown time zone", databasev1alpha1.XpanderDatabaseSpec{Schedule: "0 3 * * *", TimeZone: "Mars/Olympus"}, `spec.timeZone "Mars/Olympus"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := For(object("u", tc.spec))
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestAScheduleThatNeverFiresIsRefused(t *testing.T) {
	_, err := For(object("u", databasev1alpha1.XpanderDatabaseSpec{Schedule: "0 0 30 2 *"}))
	NewWithT(t).Expect(err).To(MatchError(`spec.schedule "0 0 30 2 *" never fires`))
}

func TestTheLongestIntervalDoesNotOverflow(t *testing.T) {
	g := NewWithT(t)
	s, err := For(object("u", databasev1alpha1.XpanderDatabaseSpec{
		RefreshInterval: &metav1.Duration{Duration: 2562047 * time.Hour},
	}))
	g.Expect(err).NotTo(HaveOccurred())
	last := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	g.Expect(s.Next(last)).To(BeTemporally(">=", last.Add(8760*time.Hour)), "held to the longest interval, a year")
	g.Expect(s.Next(last)).To(BeTemporally("<", last.Add(8760*time.Hour+6*time.Minute)))
}
