// Package schedule decides when an XpanderDatabase syncs next: every refreshInterval, or at
// the times of a cron schedule, each pushed back by a small per-object jitter so that many
// objects sharing one schedule do not all call the xpander API in the same second.
package schedule

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/types"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

const (
	// MaxIntervalJitter bounds the jitter added to an interval; it is also never more than a
	// tenth of the interval.
	MaxIntervalJitter = 5 * time.Minute

	// MaxCronJitter bounds the jitter added to a cron time, so that syncs stay close to the
	// window the schedule names.
	MaxCronJitter = time.Minute
)

// parser reads the standard five-field syntax, nothing else (no seconds, no descriptors).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Schedule is an object's checked sync schedule.
type Schedule struct {
	interval time.Duration
	cron     cron.Schedule
	location *time.Location
	jitter   time.Duration // this object's own jitter
}

// For reads obj's schedule. Its errors name the field and what is wrong with it.
func For(obj *databasev1alpha1.XpanderDatabase) (*Schedule, error) {
	s := &Schedule{interval: obj.RefreshInterval(), location: time.UTC}
	if obj.Spec.TimeZone != "" {
		loc, err := time.LoadLocation(obj.Spec.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("spec.timeZone %q is not a known IANA time zone", obj.Spec.TimeZone)
		}
		s.location = loc
	}
	bound := min(s.interval/10, MaxIntervalJitter)
	if obj.Spec.Schedule != "" {
		c, err := parser.Parse(obj.Spec.Schedule)
		if err != nil {
			return nil, fmt.Errorf("spec.schedule %q is not a five-field cron schedule: %v", obj.Spec.Schedule, err)
		}
		// robfig/cron answers the zero time for a schedule with no next time, such as
		// February 30th; four years ahead covers every leap day.
		if next := c.Next(time.Now().In(s.location)); next.IsZero() {
			return nil, fmt.Errorf("spec.schedule %q never fires", obj.Spec.Schedule)
		}
		s.cron = c
		bound = MaxCronJitter
	}
	s.jitter = Jitter(obj.UID, bound)
	return s, nil
}

// Next returns when to sync after a successful sync at last.
func (s *Schedule) Next(last time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(last.In(s.location)).Add(s.jitter).In(time.UTC)
	}
	return last.Add(s.interval + s.jitter)
}

// Jitter returns a duration in [0, bound) that depends only on uid: the same object always
// gets the same jitter, and different objects are spread evenly over the bound. It is
// rounded to whole seconds, the precision status times are kept in.
func Jitter(uid types.UID, bound time.Duration) time.Duration {
	if bound < time.Second {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	return time.Duration(h.Sum64()%uint64(bound/time.Second)) * time.Second
}
