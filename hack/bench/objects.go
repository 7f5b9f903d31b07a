package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

const (
	// namespaces hold the XpanderDatabases, objects spread round-robin over them; as many
	// again hold the raw floor's Secrets.
	namespaces = 10
	keyEntry   = "api-key"
	// fillWorkers is how many creates are in flight at once while setting a run up.
	fillWorkers = 8
)

func objectNamespace(i int) string { return fmt.Sprintf("bench-%02d", i%namespaces) }
func floorNamespace(i int) string  { return fmt.Sprintf("floor-%02d", i%namespaces) }
func objectName(i int) string      { return fmt.Sprintf("db-%05d", i) }
func keySecretName(k int) string   { return fmt.Sprintf("xpander-key-%05d", k) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// layout is one run's objects: which key each uses and which URI its Secret must hold.
type layout struct {
	objects  int
	keys     []string // the API keys, fresh for each run
	uris     []string // the connection URI the stand-in answers for each key
	interval time.Duration
}

func newLayout(objects, keys int, interval time.Duration) *layout {
	l := &layout{objects: objects, interval: interval}
	for k := range keys {
		l.keys = append(l.keys, "xpk-bench-"+randomHex(16))
		l.uris = append(l.uris, fmt.Sprintf("postgresql://app_%d:%s@127.0.0.1:5432/xpander?sslmode=require", k, randomHex(12)))
	}
	return l
}

func (l *layout) keyOf(i int) int { return i % len(l.keys) }

// want maps each object to the URI its Secret must hold.
func (l *layout) want() map[types.NamespacedName]string {
	m := make(map[types.NamespacedName]string, l.objects)
	for i := range l.objects {
		m[types.NamespacedName{Namespace: objectNamespace(i), Name: objectName(i)}] = l.uris[l.keyOf(i)]
	}
	return m
}

// answer tells the stand-in what to answer for each of the run's keys. Nothing connects to
// the databases the answers name; the operator only copies the URI into its Secret.
func (l *layout) answer(s *xpandertest.Server) {
	for k, key := range l.keys {
		org := fmt.Sprintf("00000000-0000-4000-8000-%012d", k)
		s.SetDatabase(key, xpandertest.NewDatabase(fmt.Sprintf("bench-db-%d", k), org, l.uris[k]))
	}
}

// create makes the namespaces, the API key Secrets each namespace's objects need, and the
// XpanderDatabases.
func (l *layout) create(ctx context.Context, c client.Client) error {
	for i := range namespaces {
		for _, name := range []string{objectNamespace(i), floorNamespace(i)} {
			if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
				return fmt.Errorf("create namespace %s: %w", name, err)
			}
		}
	}

	type pair struct{ ns, key int }
	var pairs []pair
	seen := map[pair]bool{}
	for i := range l.objects {
		p := pair{i % namespaces, l.keyOf(i)}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	err := inParallel(ctx, len(pairs), fillWorkers, func(j int) error {
		p := pairs[j]
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: keySecretName(p.key), Namespace: objectNamespace(p.ns)},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{keyEntry: []byte(l.keys[p.key])},
		}
		if err := c.Create(ctx, s); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	return inParallel(ctx, l.objects, fillWorkers, func(i int) error {
		obj := &databasev1alpha1.XpanderDatabase{
			ObjectMeta: metav1.ObjectMeta{Name: objectName(i), Namespace: objectNamespace(i)},
			Spec: databasev1alpha1.XpanderDatabaseSpec{
				APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: keySecretName(l.keyOf(i)), Key: keyEntry},
				SecretName:      objectName(i) + "-conn",
			},
		}
		if l.interval > 0 {
			obj.Spec.RefreshInterval = &metav1.Duration{Duration: l.interval}
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("create XpanderDatabase %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		return nil
	})
}

// managedSecrets lists the Secrets the operator wrote.
func managedSecrets(ctx context.Context, c client.Client) ([]corev1.Secret, error) {
	list := &corev1.SecretList{}
	err := c.List(ctx, list, client.MatchingLabels{controller.ManagedByLabel: controller.ManagedByValue})
	if err != nil {
		return nil, fmt.Errorf("list managed Secrets: %w", err)
	}
	return list.Items, nil
}

// floorResult is what writing the raw floor took.
type floorResult struct {
	took      time.Duration
	jsonBytes int // one Secret as JSON, on average
}

// writeFloor creates, with a client of its own and concurrency creates in flight, one
// Secret for each of the operator's managed Secrets: the same type, data, labels and
// annotations (no owner reference), under another name in another namespace. Only the
// creates are timed.
func writeFloor(ctx context.Context, c client.Client, like []corev1.Secret, concurrency int) (floorResult, error) {
	secrets := make([]*corev1.Secret, len(like))
	size := 0
	for i := range like {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:        fmt.Sprintf("floor-%05d", i),
				Namespace:   floorNamespace(i),
				Labels:      like[i].Labels,
				Annotations: like[i].Annotations,
			},
			Type: like[i].Type,
			Data: like[i].Data,
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return floorResult{}, err
		}
		size += len(raw)
		secrets[i] = s
	}
	began := time.Now()
	err := inParallel(ctx, len(secrets), concurrency, func(i int) error {
		if err := c.Create(ctx, secrets[i]); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", secrets[i].Namespace, secrets[i].Name, err)
		}
		return nil
	})
	took := time.Since(began)
	if err != nil {
		return floorResult{}, err
	}
	return floorResult{took: took, jsonBytes: size / max(len(secrets), 1)}, nil
}

// inParallel calls do for 0..n-1 with at most workers calls at once, and stops handing out
// work at the first error, which it returns.
func inParallel(ctx context.Context, n, workers int, do func(int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
