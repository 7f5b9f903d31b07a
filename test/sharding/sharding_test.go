package sharding_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

func TestEachShardSyncsOnlyTheObjectsItSelects(t *testing.T) {
	tests := []struct {
		name         string
		shardLabel   string
		owner, other *operator
	}{
		{
			name:  "an object without the shard label is synced by the default shard only",
			owner: defaultShard, other: shard1,
		},
		{
			name:       "an object labelled shard1 is synced by shard1 only",
			shardLabel: "shard1",
			owner:      shard1, other: defaultShard,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newDatabase(t, tt.shardLabel)

			db.waitSyncedBy(tt.owner)
			db.g.Expect(tt.owner.api.Calls(db.apiKey)).To(BeNumerically(">=", 1))

			// The other operator's cache never holds the object, so nothing can make it
			// reconcile it; no call on its stand-in and an empty cache both show that.
			db.g.Expect(tt.other.api.Calls(db.apiKey)).To(BeZero(),
				"the %s operator called the API for an object of another shard", tt.other.name)
			db.g.Expect(tt.other.sees(db.g, db.key)).To(BeFalse(),
				"the %s operator caches an object of another shard", tt.other.name)
		})
	}
}

func TestAnObjectMovedToShard1IsSyncedByShard1AndNoLongerByTheDefaultShard(t *testing.T) {
	db := newDatabase(t, "")
	db.waitSyncedBy(defaultShard)

	db.patch(func(obj *databasev1alpha1.XpanderDatabase) {
		obj.Labels = map[string]string{shardKey: "shard1"}
	})
	// The default shard's watch is filtered by its selector, so the API server reports the
	// relabelled object to it as deleted; from then on its reconciles of the object stop at
	// the first read, before any API call.
	db.g.Eventually(func(g Gomega) {
		g.Expect(defaultShard.sees(g, db.key)).To(BeFalse(), "the default shard still caches the object")
		g.Expect(shard1.sees(g, db.key)).To(BeTrue(), "shard1 does not cache the object yet")
	}).Should(Succeed())
	defaultCalls := defaultShard.api.Calls(db.apiKey)
	shard1Calls := shard1.api.Calls(db.apiKey)

	request := fmt.Sprint(time.Now().UnixNano())
	db.patch(func(obj *databasev1alpha1.XpanderDatabase) {
		obj.Annotations = map[string]string{controller.SyncRequestAnnotation: request}
	})

	db.g.Eventually(func(g Gomega) {
		g.Expect(db.current(g).Status.LastHandledSyncRequest).To(Equal(request))
	}).Should(Succeed())
	db.waitSyncedBy(shard1)
	db.g.Expect(shard1.api.Calls(db.apiKey)).To(BeNumerically(">", shard1Calls),
		"shard1 handled the sync request without asking the API")
	db.g.Expect(defaultShard.api.Calls(db.apiKey)).To(Equal(defaultCalls),
		"the default shard called the API for an object it no longer selects")
}

const (
	eventuallyTimeout = 20 * time.Second
	pollInterval      = 50 * time.Millisecond
)

var databaseSeq atomic.Int64

// database is one test's XpanderDatabase, in a namespace of its own, with an API key that
// both stand-ins know; each answers it with its own operator's database.
type database struct {
	t      *testing.T
	g      *WithT
	ctx    context.Context
	key    types.NamespacedName
	apiKey string
}

// newDatabase creates a namespace, the key Secret and an XpanderDatabase that carries
// the shard label with value shard, or no shard label when shard is empty.
func newDatabase(t *testing.T, shard string) *database {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(eventuallyTimeout)
	g.SetDefaultEventuallyPollingInterval(pollInterval)
	ctx := context.Background()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xdb-sharding-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	d := &database{
		t:      t,
		g:      g,
		ctx:    ctx,
		key:    types.NamespacedName{Namespace: ns.Name, Name: "db"},
		apiKey: fmt.Sprintf("xpk-sharding-%d-%d", databaseSeq.Add(1), time.Now().UnixNano()),
	}
	for _, op := range []*operator{defaultShard, shard1} {
		op.api.SetDatabase(d.apiKey, xpandertest.NewDatabase(op.databaseID,
			"f47ac10b-58cc-4372-a567-0e02b2c3d479", op.connectionURI()))
	}

	keySecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "xpander-api-key"},
		Data:       map[string][]byte{"api-key": []byte(d.apiKey)},
	}
	g.Expect(k8sClient.Create(ctx, keySecret)).To(Succeed())

	obj := &databasev1alpha1.XpanderDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.key.Namespace, Name: d.key.Name},
		Spec: databasev1alpha1.XpanderDatabaseSpec{
			APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: keySecret.Name},
		},
	}
	if shard != "" {
		obj.Labels = map[string]string{shardKey: shard}
	}
	g.Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	return d
}

// connectionURI is what the operator's stand-in answers every key with; its host names
// the operator, so the managed Secret tells whose answer it holds.
func (op *operator) connectionURI() string {
	return "postgresql://app_user:pw-" + op.name + "@" + op.name +
		".db.example.com/xpander?sslmode=require"
}

// sees reports whether the operator's cache holds the object.
func (op *operator) sees(g Gomega, key types.NamespacedName) bool {
	err := op.cache.Get(context.Background(), key, &databasev1alpha1.XpanderDatabase{})
	if apierrors.IsNotFound(err) {
		return false
	}
	g.Expect(err).NotTo(HaveOccurred())
	return true
}

// current reads the object from the API server.
func (d *database) current(g Gomega) *databasev1alpha1.XpanderDatabase {
	obj := &databasev1alpha1.XpanderDatabase{}
	g.Expect(k8sClient.Get(d.ctx, d.key, obj)).To(Succeed())
	return obj
}

// patch changes the object's metadata with a merge patch.
func (d *database) patch(change func(*databasev1alpha1.XpanderDatabase)) {
	d.t.Helper()
	obj := d.current(d.g)
	base := obj.DeepCopy()
	change(obj)
	d.g.Expect(k8sClient.Patch(d.ctx, obj, client.MergeFrom(base))).To(Succeed())
}

// waitSyncedBy waits until the object is Ready for its current generation with op's
// stand-in's answer in both its status and its managed Secret, and returns it.
func (d *database) waitSyncedBy(op *operator) *databasev1alpha1.XpanderDatabase {
	d.t.Helper()
	var obj *databasev1alpha1.XpanderDatabase
	d.g.Eventually(func(g Gomega) {
		obj = d.current(g)
		ready := meta.FindStatusCondition(obj.Status.Conditions, databasev1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil(), "no Ready condition")
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue),
			"Ready: %s %s", ready.Reason, ready.Message)
		g.Expect(ready.ObservedGeneration).To(Equal(obj.Generation))
		g.Expect(obj.Status.Database).NotTo(BeNil())
		g.Expect(obj.Status.Database.ID).To(Equal(op.databaseID), "synced by another operator")

		secret := &corev1.Secret{}
		secretKey := types.NamespacedName{Namespace: d.key.Namespace, Name: obj.Status.SecretName}
		g.Expect(k8sClient.Get(d.ctx, secretKey, secret)).To(Succeed())
		g.Expect(string(secret.Data[controller.URIKey])).To(Equal(op.connectionURI()),
			"the managed Secret holds another operator's answer")
	}).Should(Succeed())
	return obj
}
