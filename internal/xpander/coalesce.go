package xpander

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Getter is the call a Coalescer shares out.
type Getter interface {
	GetDatabase(ctx context.Context, apiKey string) (*Database, error)
}

// Coalescer shares API answers between objects that use the same key: concurrent calls for
// one key become one call, and a successful answer is reused while it is fresh. Entries are
// keyed by a SHA-256 of the key, never by the key, so the key is not kept in memory here;
// an answer is never handed to a caller with another key. Failures are shared only between
// calls in flight together, never cached.
type Coalescer struct {
	next       Getter
	maxEntries int
	now        func() time.Time

	flights singleflight.Group

	mu      sync.Mutex
	answers map[[sha256.Size]byte]cachedAnswer
}

type cachedAnswer struct {
	db *Database
	at time.Time
}

// NewCoalescer wraps next. maxEntries bounds the number of keys remembered; the oldest
// answer makes room for a new one.
func NewCoalescer(next Getter, maxEntries int) *Coalescer {
	return &Coalescer{
		next:       next,
		maxEntries: max(maxEntries, 1),
		now:        time.Now,
		answers:    map[[sha256.Size]byte]cachedAnswer{},
	}
}

// GetDatabase returns an answer for apiKey that is at most maxAge old, asking the API only
// when it has none, and then once for all callers waiting on the same key. With maxAge 0
// (a sync someone asked for) it asks the API itself and remembers the answer. The Database
// returned is the caller's own copy.
func (c *Coalescer) GetDatabase(ctx context.Context, apiKey string, maxAge time.Duration) (*Database, error) {
	id := sha256.Sum256([]byte(apiKey))
	if maxAge <= 0 {
		db, err := c.next.GetDatabase(ctx, apiKey)
		if err != nil {
			return nil, err
		}
		c.store(id, db)
		copied := *db
		return &copied, nil
	}
	if db, ok := c.fresh(id, maxAge); ok {
		return db, nil
	}

	v, err, _ := c.flights.Do(string(id[:]), func() (any, error) {
		// The call serves every caller waiting on it: one caller's cancellation must not
		// fail the others. The client's own timeout still bounds it.
		db, err := c.next.GetDatabase(context.WithoutCancel(ctx), apiKey)
		if err != nil {
			return nil, err
		}
		c.store(id, db)
		return db, nil
	})
	if err != nil {
		return nil, err
	}
	copied := *v.(*Database)
	return &copied, nil
}

func (c *Coalescer) fresh(id [sha256.Size]byte, maxAge time.Duration) (*Database, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.answers[id]
	if !ok || c.now().Sub(a.at) > maxAge {
		return nil, false
	}
	copied := *a.db
	return &copied, true
}

func (c *Coalescer) store(id [sha256.Size]byte, db *Database) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.answers[id]; !ok && len(c.answers) >= c.maxEntries {
		var oldest [sha256.Size]byte
		var oldestAt time.Time
		for k, a := range c.answers {
			if oldestAt.IsZero() || a.at.Before(oldestAt) {
				oldest, oldestAt = k, a.at
			}
		}
		delete(c.answers, oldest)
	}
	c.answers[id] = cachedAnswer{db: db, at: c.now()}
}

// SetClock replaces the clock answers are aged by; for tests.
func (c *Coalescer) SetClock(now func() time.Time) { c.now = now }

// Len returns how many keys have a remembered answer.
func (c *Coalescer) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.answers)
}
