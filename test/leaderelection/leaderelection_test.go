package leaderelection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/controller"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

func TestOnlyTheLeaderOfTwoReplicasSyncs(t *testing.T) {
	g := newG(t)
	leader, follower := startReplicas(t)

	dbs := createDatabases(t, 4, leader, follower)
	for _, db := range dbs {
		db.waitSyncedBy(g, leader)
	}

	for _, db := range dbs {
		g.Expect(leader.api.Calls(db.apiKey)).To(BeNumerically(">=", 1),
			"the leader synced %s without asking the API", db.key)
	}
	g.Expect(follower.api.CallLog()).To(BeEmpty(), "the follower called the API")
	g.Expect(follower.isElected()).To(BeFalse(), "both replicas are elected")
}

func TestWhenTheLeaderStopsTheOtherReplicaTakesOverWithoutSyncingAgain(t *testing.T) {
	g := newG(t)
	leader, follower := startReplicas(t)

	dbs := createDatabases(t, 3, leader, follower)
	for _, db := range dbs {
		db.waitSyncedBy(g, leader)
	}
	leaderCalls := len(leader.api.CallLog())
	holder := leaseHolder(g)
	g.Expect(holder).NotTo(BeEmpty(), "nobody holds the Lease while a replica is elected")

	// The leader steps down on its way out rather than leave the Lease to expire.
	leader.stop()
	g.Expect(leaseHolder(g)).NotTo(Equal(holder), "the stopped leader did not release the Lease")
	g.Eventually(follower.isElected).Should(BeTrue(), "the follower did not take over")

	// On takeover the new leader reconciles every object it caches. Each was synced an hour
	// ahead of its next sync, and status says so, so none costs an API call. The new
	// leader's queue takes fresh events ahead of its initial list, hence the wait for its
	// decision on each object before anything else happens to them.
	g.Eventually(func(g Gomega) {
		for _, db := range dbs {
			g.Expect(follower.foundNotDue(db.key)).To(BeTrue(),
				"the new leader has not decided on %s yet", db.key)
		}
	}).Should(Succeed())
	for _, db := range dbs {
		g.Expect(follower.api.Calls(db.apiKey)).To(BeZero(),
			"the new leader synced %s again on takeover", db.key)
	}

	requested, untouched := dbs[0], dbs[1:]
	request := fmt.Sprint(time.Now().UnixNano())
	requested.requestSync(g, request)

	g.Eventually(func(g Gomega) {
		g.Expect(requested.current(g).Status.LastHandledSyncRequest).To(Equal(request))
	}).Should(Succeed())
	requested.waitSyncedBy(g, follower)
	g.Expect(follower.api.Calls(requested.apiKey)).To(BeNumerically(">=", 1),
		"the new leader handled the sync request without asking the API")
	for _, db := range untouched {
		g.Expect(follower.api.Calls(db.apiKey)).To(BeZero(),
			"the new leader synced %s, which nobody asked for", db.key)
	}
	g.Expect(leader.api.CallLog()).To(HaveLen(leaderCalls), "the stopped leader called the API")
}

// Every wait in this package: generous, because the machine may be busy and a takeover
// costs a few leader election retries.
const (
	eventuallyTimeout = 30 * time.Second
	pollInterval      = 100 * time.Millisecond
)

func newG(t *testing.T) *WithT {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(eventuallyTimeout)
	g.SetDefaultEventuallyPollingInterval(pollInterval)
	return g
}

// database is one XpanderDatabase with an API key of its own that both replicas' stand-ins
// know; each answers it with its own replica's database.
type database struct {
	key    types.NamespacedName
	apiKey string
}

// createDatabases creates a namespace holding n XpanderDatabases, each with its own key
// Secret and API key, and teaches the replicas' stand-ins the keys.
func createDatabases(t *testing.T, n int, replicas ...*replica) []*database {
	t.Helper()
	g := newG(t)
	ctx := context.Background()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xdb-leaderelection-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())

	dbs := make([]*database, 0, n)
	for i := range n {
		db := &database{
			key:    types.NamespacedName{Namespace: ns.Name, Name: fmt.Sprintf("db-%d", i)},
			apiKey: fmt.Sprintf("xpk-%s-%d", ns.Name, i),
		}
		for _, r := range replicas {
			r.api.SetDatabase(db.apiKey, xpandertest.NewDatabase(r.databaseID,
				"f47ac10b-58cc-4372-a567-0e02b2c3d479", r.connectionURI()))
		}

		keySecret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: db.key.Name + "-api-key"},
			Data:       map[string][]byte{"api-key": []byte(db.apiKey)},
		}
		g.Expect(k8sClient.Create(ctx, keySecret)).To(Succeed())
		obj := &databasev1alpha1.XpanderDatabase{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: db.key.Name},
			Spec: databasev1alpha1.XpanderDatabaseSpec{
				APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: keySecret.Name},
			},
		}
		g.Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		dbs = append(dbs, db)
	}
	return dbs
}

// connectionURI is what the replica's stand-in answers every key with; its host names the
// replica, so the managed Secret tells whose answer it holds.
func (r *replica) connectionURI() string {
	return "postgresql://app_user:pw-" + r.name + "@" + r.name +
		".db.example.com/xpander?sslmode=require"
}

// current reads the object from the API server.
func (d *database) current(g Gomega) *databasev1alpha1.XpanderDatabase {
	obj := &databasev1alpha1.XpanderDatabase{}
	g.Expect(k8sClient.Get(context.Background(), d.key, obj)).To(Succeed())
	return obj
}

// requestSync sets the sync-request annotation with a JSON merge patch of that annotation
// alone, as `kubectl annotate` does. Updating the whole object instead would send
// spec.refreshInterval back as "1h0m0s" rather than "1h": a spec change, which syncs for a
// reason of its own.
func (d *database) requestSync(g *WithT, value string) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"annotations": map[string]string{controller.SyncRequestAnnotation: value},
		},
	})
	g.Expect(err).NotTo(HaveOccurred())
	obj := &databasev1alpha1.XpanderDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.key.Namespace, Name: d.key.Name},
	}
	g.Expect(k8sClient.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, patch))).
		To(Succeed())
}

// waitSyncedBy waits until the object is Ready for its current generation with r's
// stand-in's answer in both its status and its managed Secret.
func (d *database) waitSyncedBy(g *WithT, r *replica) {
	g.Eventually(func(g Gomega) {
		obj := d.current(g)
		ready := meta.FindStatusCondition(obj.Status.Conditions, databasev1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil(), "%s has no Ready condition", d.key)
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue),
			"%s Ready: %s %s", d.key, ready.Reason, ready.Message)
		g.Expect(ready.ObservedGeneration).To(Equal(obj.Generation))
		g.Expect(obj.Status.Database).NotTo(BeNil())
		g.Expect(obj.Status.Database.ID).To(Equal(r.databaseID), "%s synced by another replica", d.key)

		secret := &corev1.Secret{}
		secretKey := types.NamespacedName{Namespace: d.key.Namespace, Name: obj.Status.SecretName}
		g.Expect(k8sClient.Get(context.Background(), secretKey, secret)).To(Succeed())
		g.Expect(string(secret.Data[controller.URIKey])).To(Equal(r.connectionURI()),
			"the managed Secret of %s holds another replica's answer", d.key)
	}).Should(Succeed())
}
