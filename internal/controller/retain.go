package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=database.xpander.ai,resources=xpanderdatabases,verbs=patch
// +kubebuilder:rbac:groups=database.xpander.ai,resources=xpanderdatabases/finalizers,verbs=update

// setFinalizer keeps the retain finalizer on exactly the objects whose deletionPolicy is
// Retain.
func (r *XpanderDatabaseReconciler) setFinalizer(ctx context.Context, obj *databasev1alpha1.XpanderDatabase) error {
	want := obj.Spec.DeletionPolicy == databasev1alpha1.DeletionPolicyRetain
	if want == controllerutil.ContainsFinalizer(obj, databasev1alpha1.RetainFinalizer) {
		return nil
	}
	before := obj.DeepCopy()
	if want {
		controllerutil.AddFinalizer(obj, databasev1alpha1.RetainFinalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, databasev1alpha1.RetainFinalizer)
	}
	if err := r.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("update finalizers: %w", err)
	}
	return nil
}

// releaseSecret turns the managed Secret of an object being deleted with deletionPolicy
// Retain into an ordinary Secret: no owner reference to the object, none of the operator's
// labels. Then it lets the object go.
func (r *XpanderDatabaseReconciler) releaseSecret(ctx context.Context, obj *databasev1alpha1.XpanderDatabase) error {
	if !controllerutil.ContainsFinalizer(obj, databasev1alpha1.RetainFinalizer) {
		return nil
	}
	name := obj.Status.SecretName
	if name == "" {
		name = obj.ManagedSecretName()
	}
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("get Secret %s to retain it: %w", name, err)
	case metav1.IsControlledBy(secret, obj):
		before := secret.DeepCopy()
		refs := secret.OwnerReferences[:0]
		for _, ref := range secret.OwnerReferences {
			if ref.UID != obj.UID {
				refs = append(refs, ref)
			}
		}
		secret.OwnerReferences = refs
		delete(secret.Labels, ManagedByLabel)
		delete(secret.Labels, OwnerLabel)
		if err := r.Patch(ctx, secret, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("release Secret %s: %w", name, err)
		}
		logf.FromContext(ctx).Info("kept the managed Secret as the object is deleted", "secret", name)
	}

	before := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, databasev1alpha1.RetainFinalizer)
	if err := r.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("remove finalizer: %w", err))
	}
	r.recent.Delete(client.ObjectKeyFromObject(obj))
	return nil
}
