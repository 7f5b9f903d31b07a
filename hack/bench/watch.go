package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// tracker follows the run's XpanderDatabases through a watch, and notes when each became
// Ready and when a scheduled sync first ran again. Times are when the event arrived. The
// operator writes an object's Secret before the status that says it is Ready, so Ready is
// when both hold; whether the Secrets hold the right URIs is checked once at the end, where
// it costs one list rather than a second watch during the measurement.
type tracker struct {
	mu      sync.Mutex
	objects map[types.NamespacedName]*objectState
	// ready counts objects Ready; refreshed those synced again since.
	ready, refreshed int
	// writes counts watch events that changed an XpanderDatabase.
	writes int
	// first is when the operator's first write was seen; last when the latest object became
	// Ready or was refreshed.
	first, last time.Time
	err         error
}

type objectState struct {
	readyAt, refreshedAt time.Time
	// first is the status at the first sync; changed the status fields the first scheduled
	// sync after it changed.
	first   *databasev1alpha1.XpanderDatabaseStatus
	changed []string
}

// watcherFunc lets a function start the watches a RetryWatcher restarts.
type watcherFunc func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

func (f watcherFunc) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return f(ctx, opts)
}

// startTracker lists the objects named in want, then watches them from there until ctx ends.
func startTracker(ctx context.Context, c client.WithWatch, want map[types.NamespacedName]string) (*tracker, error) {
	t := &tracker{objects: make(map[types.NamespacedName]*objectState, len(want))}
	for k := range want {
		t.objects[k] = &objectState{}
	}
	list := &databasev1alpha1.XpanderDatabaseList{}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list XpanderDatabases: %w", err)
	}
	for i := range list.Items {
		t.object(&list.Items[i], false)
	}
	err := t.follow(ctx, list.ResourceVersion, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return c.Watch(ctx, &databasev1alpha1.XpanderDatabaseList{}, &client.ListOptions{Raw: &o})
	}, func(e watch.Event) {
		if obj, ok := e.Object.(*databasev1alpha1.XpanderDatabase); ok {
			t.object(obj, e.Type == watch.Modified)
		}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// follow hands every event of a restarting watch to handle until ctx ends.
func (t *tracker) follow(ctx context.Context, rv string, start watcherFunc, handle func(watch.Event)) error {
	w, err := watchtools.NewRetryWatcherWithContext(ctx, rv, start)
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.ResultChan():
				switch {
				case !ok:
					if ctx.Err() == nil {
						t.fail(errors.New("a watch ended"))
					}
					return
				case e.Type == watch.Error:
					t.fail(fmt.Errorf("a watch failed: %v", e.Object))
					return
				case e.Type == watch.Bookmark:
					continue
				}
				handle(e)
			}
		}
	}()
	return nil
}

func (t *tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *tracker) object(obj *databasev1alpha1.XpanderDatabase, modified bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.objects[client.ObjectKeyFromObject(obj)]
	if !ok {
		return
	}
	if modified {
		t.writes++
		if t.first.IsZero() {
			t.first = now
		}
	}
	ready := meta.IsStatusConditionTrue(obj.Status.Conditions, databasev1alpha1.ReadyCondition) &&
		obj.Status.ObservedGeneration == obj.Generation && obj.Status.LastSyncTime != nil
	switch {
	case !ready:
	case s.first == nil:
		s.readyAt, s.first = now, obj.Status.DeepCopy()
		t.ready++
		t.last = now
	case s.refreshedAt.IsZero() && !obj.Status.LastSyncTime.Equal(s.first.LastSyncTime):
		s.refreshedAt, s.changed = now, changedFields(s.first, &obj.Status)
		t.refreshed++
		t.last = now
	}
}

// progress is a snapshot of what the tracker saw.
type progress struct {
	ready, refreshed, writes int
	first, last              time.Time
	err                      error
}

func (t *tracker) progress() progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return progress{t.ready, t.refreshed, t.writes, t.first, t.last, t.err}
}

// checkSecrets checks that every object's managed Secret holds its key's URI.
func checkSecrets(ctx context.Context, c client.Client, want map[types.NamespacedName]string) ([]corev1.Secret, error) {
	secrets, err := managedSecrets(ctx, c)
	if err != nil {
		return nil, err
	}
	right := 0
	for i := range secrets {
		owner := metav1.GetControllerOf(&secrets[i])
		if owner == nil {
			continue
		}
		key := types.NamespacedName{Namespace: secrets[i].Namespace, Name: owner.Name}
		if uri, ok := want[key]; ok && string(secrets[i].Data["uri"]) == uri {
			right++
		}
	}
	if right != len(want) || len(secrets) != len(want) {
		return nil, fmt.Errorf("%d managed Secrets, %d of them with the right URI, for %d objects", len(secrets), right, len(want))
	}
	return secrets, nil
}

// changedByRefresh returns every status field some object's scheduled sync changed, and
// how many objects changed each.
func (t *tracker) changedByRefresh() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for _, s := range t.objects {
		for _, f := range s.changed {
			out[f]++
		}
	}
	return out
}

// changedFields names the top-level status fields (conditions by type) that differ.
func changedFields(a, b *databasev1alpha1.XpanderDatabaseStatus) []string {
	flat := func(st *databasev1alpha1.XpanderDatabaseStatus) map[string]string {
		raw, _ := json.Marshal(st)
		fields := map[string]json.RawMessage{}
		_ = json.Unmarshal(raw, &fields)
		out := map[string]string{}
		for k, v := range fields {
			if k != "conditions" {
				out[k] = string(v)
			}
		}
		for _, c := range st.Conditions {
			raw, _ := json.Marshal(c)
			out["conditions["+c.Type+"]"] = string(raw)
		}
		return out
	}
	fa, fb := flat(a), flat(b)
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(fb)) {
		if fa[k] != fb[k] {
			changed = append(changed, k)
		}
	}
	for k := range fa {
		if _, ok := fb[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}
