package xpander

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// countingGetter answers every key with a Database naming it, after a short wait, and
// counts calls per key.
type countingGetter struct {
	mu    sync.Mutex
	calls map[string]int
	wait  time.Duration
	fail  atomic.Bool
}

func (g *countingGetter) GetDatabase(ctx context.Context, key string) (*Database, error) {
	g.mu.Lock()
	g.calls[key]++
	g.mu.Unlock()
	time.Sleep(g.wait) // a slow API, so that concurrent callers overlap
	if g.fail.Load() {
		return nil, &Error{Kind: KindServerError, StatusCode: 500, msg: "xpander API answered HTTP 500"}
	}
	return &Database{ID: "db-for-" + key, Name: "org_x", ConnectionURI: "postgresql://u:p@h/" + key}, nil
}

func (g *countingGetter) count(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[key]
}

func TestConcurrentCallsForOneKeyMakeOneCall(t *testing.T) {
	g := NewWithT(t)
	api := &countingGetter{calls: map[string]int{}, wait: 50 * time.Millisecond}
	c := NewCoalescer(api, 10)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			db, err := c.GetDatabase(context.Background(), "key-a", time.Minute)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(db.ID).To(Equal("db-for-key-a"))
		})
	}
	wg.Wait()
	g.Expect(api.count("key-a")).To(Equal(1))
}

func TestAnAnswerIsSharedOnlyWhileFreshAndOnlyForItsKey(t *testing.T) {
	g := NewWithT(t)
	api := &countingGetter{calls: map[string]int{}}
	c := NewCoalescer(api, 10)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c.SetClock(func() time.Time { return now })
	ctx := context.Background()

	a, _ := c.GetDatabase(ctx, "key-a", time.Minute)
	b, _ := c.GetDatabase(ctx, "key-b", time.Minute)
	g.Expect(a.ID).To(Equal("db-for-key-a"))
	g.Expect(b.ID).To(Equal("db-for-key-b"), "another key never gets key-a's answer")

	now = now.Add(59 * time.Second)
	_, _ = c.GetDatabase(ctx, "key-a", time.Minute)
	g.Expect(api.count("key-a")).To(Equal(1), "fresh: served from memory")

	now = now.Add(2 * time.Second)
	_, _ = c.GetDatabase(ctx, "key-a", time.Minute)
	g.Expect(api.count("key-a")).To(Equal(2), "stale: asked again")

	_, _ = c.GetDatabase(ctx, "key-a", 0)
	g.Expect(api.count("key-a")).To(Equal(3), "maxAge 0, a requested sync, always asks")

	a.ID = "changed by a caller"
	again, _ := c.GetDatabase(ctx, "key-a", time.Minute)
	g.Expect(again.ID).To(Equal("db-for-key-a"), "callers get copies")
}

func TestFailuresAreNotRemembered(t *testing.T) {
	g := NewWithT(t)
	api := &countingGetter{calls: map[string]int{}}
	api.fail.Store(true)
	c := NewCoalescer(api, 10)
	_, err := c.GetDatabase(context.Background(), "key-a", time.Minute)
	g.Expect(KindOf(err)).To(Equal(KindServerError))
	api.fail.Store(false)
	db, err := c.GetDatabase(context.Background(), "key-a", time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(db.ID).To(Equal("db-for-key-a"))
	g.Expect(api.count("key-a")).To(Equal(2))
}

func TestMemoryIsBoundedAndKeysAreNotKept(t *testing.T) {
	g := NewWithT(t)
	api := &countingGetter{calls: map[string]int{}}
	c := NewCoalescer(api, 3)
	tick := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c.SetClock(func() time.Time { tick = tick.Add(time.Second); return tick })
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		_, err := c.GetDatabase(context.Background(), k, time.Hour)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(c.Len()).To(Equal(3), "the oldest answer made room")
	_, _ = c.GetDatabase(context.Background(), "k1", time.Hour)
	g.Expect(api.count("k1")).To(Equal(2), "k1 was the one evicted")
	_, keyedByHash := c.answers[sha256.Sum256([]byte("k4"))]
	g.Expect(keyedByHash).To(BeTrue(), "entries are keyed by the key's SHA-256, not the key")
}
