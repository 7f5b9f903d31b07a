package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

func TestDeletionPolicies(t *testing.T) {
	t.Run("Delete leaves the Secret to the garbage collector through its owner reference", func(t *testing.T) {
		f := newFixture(t)
		f.create()
		obj := f.waitReady()
		f.g.Expect(obj.Finalizers).To(BeEmpty())
		f.g.Expect(obj.Spec.DeletionPolicy).To(Equal(databasev1alpha1.DeletionPolicyDelete), "the CRD's default")
		s := f.secret("db")
		f.g.Expect(s.OwnerReferences).To(HaveLen(1))
		f.g.Expect(s.OwnerReferences[0].UID).To(Equal(obj.UID))
		// envtest runs no garbage collector: the owner reference is what a cluster acts on.
	})

	t.Run("Retain keeps the Secret as an ordinary Secret once the object is gone", func(t *testing.T) {
		f := newFixture(t)
		f.obj.Spec.DeletionPolicy = databasev1alpha1.DeletionPolicyRetain
		f.create()
		f.waitReady()
		g := f.g
		g.Eventually(func() []string { return f.current().Finalizers }).Should(ConsistOf(databasev1alpha1.RetainFinalizer))
		kept := f.secret("db")

		g.Expect(k8sClient.Delete(f.ctx, f.current())).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(f.ctx, client.ObjectKeyFromObject(f.obj), &databasev1alpha1.XpanderDatabase{}))
		}).Should(BeTrue(), "the object goes once its Secret is released")
		s := f.secret("db")
		g.Expect(s.OwnerReferences).To(BeEmpty())
		g.Expect(s.Labels).NotTo(HaveKey(ManagedByLabel))
		g.Expect(s.Labels).NotTo(HaveKey(OwnerLabel))
		g.Expect(s.Data).To(Equal(kept.Data), "the connection is kept as it was")
	})

	t.Run("switching back to Delete drops the finalizer", func(t *testing.T) {
		f := newFixture(t)
		f.obj.Spec.DeletionPolicy = databasev1alpha1.DeletionPolicyRetain
		f.create()
		f.waitReady()
		f.g.Eventually(func() []string { return f.current().Finalizers }).Should(HaveLen(1))
		obj := f.current()
		obj.Spec.DeletionPolicy = databasev1alpha1.DeletionPolicyDelete
		f.g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())
		f.g.Eventually(func() []string { return f.current().Finalizers }).Should(BeEmpty())
	})
}
