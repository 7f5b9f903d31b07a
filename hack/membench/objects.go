package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

const (
	// namespaceCount namespaces hold the unrelated Secrets; the first dbNamespaces of them
	// also hold the XpanderDatabases, one API key Secret each, as in a shared cluster.
	namespaceCount = 20
	dbNamespaces   = 5
	keySecretName  = "xpander-api-key"
	keyEntry       = "api-key"
	// lastApplied is the annotation `kubectl apply` leaves on what it creates: the whole
	// manifest as JSON, so a Secret's data is stored a second time in its metadata.
	lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	// fillWorkers is how many creates are in flight at once while filling the cluster.
	fillWorkers = 8
)

func namespaceName(i int) string { return fmt.Sprintf("membench-%02d", i) }

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random version 4 UUID, the shape of an xpander organization id.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeAnswers writes the stand-in's answers file: one answer per API key. Nothing connects
// to the database the answers name; the operator only copies the URI into its Secret.
func writeAnswers(path string, keys []string) error {
	answers := map[string]any{}
	for i, key := range keys {
		org := newUUID()
		answers[key] = map[string]any{
			"id":              fmt.Sprintf("membench-db-%d", i),
			"name":            "org_" + org,
			"organization_id": org,
			"connection_uri": map[string]string{
				"uri": fmt.Sprintf("postgresql://app_%d:%s@127.0.0.1:5432/xpander?sslmode=require", i, randomHex(12)),
			},
		}
	}
	data, err := json.MarshalIndent(answers, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// createNamespaces creates the benchmark's namespaces.
func createNamespaces(ctx context.Context, c client.Client) error {
	for i := range namespaceCount {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(i)}}
		if err := c.Create(ctx, ns); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
	}
	return nil
}

// createDatabases creates one API key Secret in each database namespace and objects
// XpanderDatabases spread over those namespaces.
func createDatabases(ctx context.Context, c client.Client, keys []string, objects int) error {
	for i, key := range keys {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: keySecretName, Namespace: namespaceName(i)},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{keyEntry: []byte(key)},
		}
		if err := c.Create(ctx, s); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	for i := range objects {
		name := fmt.Sprintf("db-%03d", i)
		obj := &databasev1alpha1.XpanderDatabase{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespaceName(i % len(keys))},
			Spec: databasev1alpha1.XpanderDatabaseSpec{
				APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: keySecretName, Key: keyEntry},
				SecretName:      name + "-connection",
			},
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("create XpanderDatabase %s/%s: %w", obj.Namespace, name, err)
		}
	}
	return nil
}

// readyCount says how many XpanderDatabases are Ready for their current generation.
func readyCount(ctx context.Context, c client.Client) (ready, total int, err error) {
	list := &databasev1alpha1.XpanderDatabaseList{}
	if err := c.List(ctx, list); err != nil {
		return 0, 0, fmt.Errorf("list XpanderDatabases: %w", err)
	}
	for i := range list.Items {
		obj := &list.Items[i]
		cond := meta.FindStatusCondition(obj.Status.Conditions, databasev1alpha1.ReadyCondition)
		if cond != nil && cond.Status == metav1.ConditionTrue && obj.Status.ObservedGeneration == obj.Generation {
			ready++
		}
	}
	return ready, len(list.Items), nil
}

// secretCount counts every Secret in the cluster, reading metadata only.
func secretCount(ctx context.Context, c client.Client) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := c.List(ctx, list); err != nil {
		return 0, fmt.Errorf("list Secrets: %w", err)
	}
	return len(list.Items), nil
}

// pemBlock returns n random bytes in PEM armour, the shape of a certificate or a key.
func pemBlock(kind string, n int) []byte {
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "-----\n")
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END " + kind + "-----\n")
	return []byte(b.String())
}

// unrelatedSecret is a TLS Secret as `kubectl apply -f` leaves it: a chain of two
// certificates and a key, together about dataKiB of PEM text, random so that no two Secrets
// share memory, and the last-applied-configuration annotation repeating all of it.
func unrelatedSecret(namespace, name string, dataKiB float64) (*corev1.Secret, error) {
	// Base64 turns 3 bytes into 4 characters; the armour and line breaks add a little more.
	raw := int(dataKiB * 1024 * 3 / 4 * 0.97)
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       append(pemBlock("CERTIFICATE", raw*27/100), pemBlock("CERTIFICATE", raw*27/100)...),
			corev1.TLSPrivateKeyKey: pemBlock("PRIVATE KEY", raw*46/100),
		},
	}
	manifest, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	s.Annotations = map[string]string{lastApplied: string(manifest) + "\n"}
	return s, nil
}

// fillStats describes the unrelated Secrets created.
type fillStats struct {
	count     int
	dataBytes int // Secret data, summed over all
	jsonBytes int // the whole object as JSON, summed over all
}

// createUnrelatedSecrets creates n unrelated Secrets spread over all namespaces, with the
// field manager kubectl's client-side apply uses.
func createUnrelatedSecrets(ctx context.Context, c client.Client, n int, dataKiB float64) (fillStats, error) {
	var (
		next      atomic.Int64
		dataBytes atomic.Int64
		jsonBytes atomic.Int64
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstErr  error
	)
	for range fillWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				s, err := unrelatedSecret(namespaceName(i%namespaceCount), fmt.Sprintf("web-tls-%05d", i), dataKiB)
				if err == nil {
					for _, v := range s.Data {
						dataBytes.Add(int64(len(v)))
					}
					var raw []byte
					raw, err = json.Marshal(s)
					jsonBytes.Add(int64(len(raw)))
				}
				if err == nil {
					err = c.Create(ctx, s, client.FieldOwner("kubectl-client-side-apply"))
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create unrelated Secret %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the other workers
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return fillStats{count: n, dataBytes: int(dataBytes.Load()), jsonBytes: int(jsonBytes.Load())}, firstErr
}
