package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// secretNamesIndex indexes XpanderDatabases by every Secret name they refer to: the key
// Secret, the managed Secret, and a managed Secret left under a previous name.
const secretNamesIndex = "database.xpander.ai/secret-names"

// Options tune the controller.
type Options struct {
	// MaxConcurrentReconciles is how many objects sync at once.
	MaxConcurrentReconciles int
	// WatchNamespaces limits the operator to these namespaces; all when empty. It must match
	// the namespaces given to CacheOptions.
	WatchNamespaces []string
	// BackoffBase and BackoffMax bound the per-object exponential backoff after a transient
	// failure: BackoffBase, twice that, and so on, never more than BackoffMax. The same
	// bounds apply to the rare error that is not a failed sync (a status write refused).
	BackoffBase, BackoffMax time.Duration
}

// CacheOptions are the manager's cache options: Secrets are cached only when they carry the
// operator's label, and no object keeps its managedFields in memory. With namespaces, the
// cache (and so the operator) sees only those namespaces.
//
// shard, when not nil, selects the XpanderDatabases this replica handles, for splitting the
// objects between several operator Deployments by a label (see the README's Scaling).
func CacheOptions(namespaces []string, shard labels.Selector) cache.Options {
	byObject := map[client.Object]cache.ByObject{
		&corev1.Secret{}: {
			Label: labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue}),
		},
	}
	if shard != nil && !shard.Empty() {
		byObject[&databasev1alpha1.XpanderDatabase{}] = cache.ByObject{Label: shard}
	}
	return cache.Options{
		DefaultNamespaces: namespaceConfig(namespaces),
		DefaultTransform:  cache.TransformStripManagedFields(),
		ByObject:          byObject,
	}
}

func namespaceConfig(namespaces []string) map[string]cache.Config {
	if len(namespaces) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		m[ns] = cache.Config{}
	}
	return m
}

// newSecretMetadataCache returns a cache of every Secret's name, namespace and
// resourceVersion, and nothing else: no data, labels or annotations (kubectl's
// last-applied-configuration annotation can repeat a Secret's data). It lets the operator
// notice changes to key Secrets without caching their contents.
func newSecretMetadataCache(mgr ctrl.Manager, namespaces []string) (cache.Cache, error) {
	return cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		HTTPClient:        mgr.GetHTTPClient(),
		DefaultNamespaces: namespaceConfig(namespaces),
		DefaultTransform:  trimSecretMetadata,
	})
}

func trimSecretMetadata(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       m.Namespace,
			Name:            m.Name,
			UID:             m.UID,
			ResourceVersion: m.ResourceVersion,
		},
	}, nil
}

// SetupWithManager registers the reconciler and the Secret metadata cache it watches with
// the manager.
func (r *XpanderDatabaseReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	secretMetadata, err := newSecretMetadataCache(mgr, opts.WatchNamespaces)
	if err != nil {
		return fmt.Errorf("create Secret metadata cache: %w", err)
	}
	if err := mgr.Add(secretMetadata); err != nil {
		return fmt.Errorf("add Secret metadata cache: %w", err)
	}
	r.SecretMetadata = secretMetadata
	r.BackoffBase, r.BackoffMax = opts.BackoffBase, opts.BackoffMax

	err = mgr.GetFieldIndexer().IndexField(context.Background(), &databasev1alpha1.XpanderDatabase{}, secretNamesIndex,
		func(o client.Object) []string {
			obj := o.(*databasev1alpha1.XpanderDatabase)
			names := []string{obj.Spec.APIKeySecretRef.Name, obj.ManagedSecretName()}
			if obj.Status.SecretName != "" && obj.Status.SecretName != obj.ManagedSecretName() {
				names = append(names, obj.Status.SecretName)
			}
			return names
		})
	if err != nil {
		return fmt.Errorf("index XpanderDatabases by Secret name: %w", err)
	}

	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))

	return ctrl.NewControllerManagedBy(mgr).
		Named("xpanderdatabase").
		// Status writes change neither the generation nor the annotations, so the
		// operator's own status patches do not come back as work; a sync-request
		// annotation does.
		For(&databasev1alpha1.XpanderDatabase{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}).
		WatchesRawSource(source.Kind(secretMetadata, secretMeta,
			handler.TypedEnqueueRequestsFromMapFunc(r.objectsForSecret),
			resourceVersionChanged{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				opts.BackoffBase, opts.BackoffMax),
		}).
		Complete(r)
}

// objectsForSecret maps a Secret to the XpanderDatabases in its namespace that name it.
func (r *XpanderDatabaseReconciler) objectsForSecret(ctx context.Context, s *metav1.PartialObjectMetadata) []reconcile.Request {
	list := &databasev1alpha1.XpanderDatabaseList{}
	if err := r.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingFields{secretNamesIndex: s.Name}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list XpanderDatabases for a Secret", "secret", client.ObjectKeyFromObject(s))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// resourceVersionChanged drops the periodic resync's updates, which change nothing.
type resourceVersionChanged struct {
	predicate.TypedFuncs[*metav1.PartialObjectMetadata]
}

func (resourceVersionChanged) Update(e event.TypedUpdateEvent[*metav1.PartialObjectMetadata]) bool {
	return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
}
