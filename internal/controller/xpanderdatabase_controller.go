// Package controller holds the XpanderDatabase reconciler: it reads an organization's API
// key, asks the xpander API for the database connection and keeps it in a managed Secret.
package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"math/rand/v2"
	"reflect"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connsecret"
	"github.com/xpander-ai/xpander-db-operator/internal/metrics"
	"github.com/xpander-ai/xpander-db-operator/internal/schedule"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
)

// DatabaseGetter is the xpander API call the reconciler makes, through an answer cache that
// may serve an answer up to maxAge old (maxAge 0: ask the API); *xpander.Coalescer
// implements it.
type DatabaseGetter interface {
	GetDatabase(ctx context.Context, apiKey string, maxAge time.Duration) (*xpander.Database, error)
}

// XpanderDatabaseReconciler keeps each XpanderDatabase's managed Secret in step with the
// xpander API.
type XpanderDatabaseReconciler struct {
	// Client reads XpanderDatabases and managed Secrets from the cache and writes through
	// to the API server.
	client.Client
	// APIReader reads key Secrets straight from the API server: they are not cached, so
	// that the operator does not hold every Secret in the cluster in memory.
	APIReader client.Reader
	// SecretMetadata is a cache of Secret metadata (name and resourceVersion only), used to
	// notice changes to key Secrets and to Secrets that block a managed Secret's name.
	SecretMetadata client.Reader
	// Xpander calls the xpander API.
	Xpander DatabaseGetter
	// AnswerMaxAge is how old a shared answer for the same key may be and still serve a
	// scheduled sync; an object never takes one older than half its refresh interval, and
	// a requested sync always asks the API. Zero turns sharing off.
	AnswerMaxAge time.Duration
	// Recorder emits Kubernetes events.
	Recorder events.EventRecorder
	// Clock tells the time; a real clock when nil.
	Clock clock.PassiveClock
	// BackoffBase and BackoffMax bound the wait after a transient failure: BackoffBase
	// after the first, doubling with each further one up to BackoffMax, plus up to a tenth
	// at random. Zero values take DefaultBackoffBase and DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration

	// recent remembers each object's latest successful sync. The cache can hand a reconcile
	// an object whose status predates the sync that just ran (the Secret's watch event may
	// come first); without this, that reconcile would ask the API a second time.
	recent sync.Map // types.NamespacedName -> syncRecord

	// keySecrets holds the key Secrets the objects refer to, by name, with the
	// resourceVersion they were read at; only those, never other Secrets.
	keySecrets sync.Map // types.NamespacedName -> keySecret
}

// syncRecord is what the latest sync attempt wrote into status, kept until the next one.
type syncRecord struct {
	uid        types.UID // of the object, which a deleted and recreated one does not share
	ok         bool      // the attempt succeeded
	reason     string    // the Ready reason it left
	generation int64
	keyVersion string
	next       time.Time
	credential string // of the latest successful sync
	request    string
	failures   int32
}

// +kubebuilder:rbac:groups=database.xpander.ai,resources=xpanderdatabases,verbs=get;list;watch
// +kubebuilder:rbac:groups=database.xpander.ai,resources=xpanderdatabases/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile syncs one XpanderDatabase: it checks that the managed Secret's name is free,
// decides whether a sync is due, reads the API key, asks the xpander API, writes the Secret
// and removes a Secret left under an old name. Status is written once, on the way out.
func (r *XpanderDatabaseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := &databasev1alpha1.XpanderDatabase{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.recent.Delete(req.NamespacedName)
			metrics.LastSuccess.DeleteLabelValues(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		// With deletionPolicy Delete the managed Secret is garbage collected through its
		// owner reference; with Retain it is released first.
		return ctrl.Result{}, r.releaseSecret(ctx, obj)
	}
	if err := r.setFinalizer(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	if obj.Spec.Suspend {
		logf.FromContext(ctx).V(1).Info("suspended; not syncing")
		return ctrl.Result{}, r.acknowledgeSuspend(ctx, obj)
	}

	s := &syncState{obj: obj, before: obj.DeepCopy(), now: r.now()}
	defer func() {
		result, retErr = r.finish(ctx, s, retErr)
	}()

	if err := r.findManagedSecret(ctx, s); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.compileShape(s); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.readSchedule(s); err != nil {
		return ctrl.Result{}, err
	}

	if !r.syncDue(ctx, s) {
		return ctrl.Result{}, nil
	}

	apiKey, err := r.readAPIKey(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}

	if err := r.fetchDatabase(ctx, s, apiKey); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.writeSecret(ctx, s); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.removeRenamedSecret(ctx, s); err != nil {
		return ctrl.Result{}, err
	}

	r.restartWorkloads(ctx, s)

	s.synced = true
	return ctrl.Result{}, nil
}

// acknowledgeSuspend stamps status.observedGeneration when spec.suspend was just set, so
// that kstatus readers (Flux, kubectl wait) see the object as acted on rather than waiting
// for a sync that is not coming. The conditions keep describing the last sync.
func (r *XpanderDatabaseReconciler) acknowledgeSuspend(ctx context.Context, obj *databasev1alpha1.XpanderDatabase) error {
	if obj.Status.ObservedGeneration == obj.Generation {
		return nil
	}
	patch := fmt.Appendf(nil, `{"status":{"observedGeneration":%d}}`, obj.Generation)
	err := r.Status().Patch(ctx, obj.DeepCopy(), client.RawPatch(types.MergePatchType, patch))
	return client.IgnoreNotFound(err)
}

// syncState carries what one reconciliation learned from step to step.
type syncState struct {
	obj    *databasev1alpha1.XpanderDatabase
	before *databasev1alpha1.XpanderDatabase
	now    time.Time

	// managed is the managed Secret as cached, or nil when there is none.
	managed *corev1.Secret
	// keyVersion is the resourceVersion of the key Secret the sync read.
	keyVersion string
	// shape is the checked spec.secretTemplate; schedule the checked sync schedule.
	shape    *connsecret.Shape
	schedule *schedule.Schedule
	// request is the sync-request annotations' value, "" when there is none; forced is set
	// when it asks for a sync this reconciliation makes.
	request string
	forced  bool
	// credential fingerprints the connection just fetched; rotated is set when it differs
	// from the one the previous successful sync wrote.
	credential string
	rotated    bool
	// restarts records what restartWorkloads did, when it ran.
	restarts *restartReport
	// database is the API's answer; data is the managed Secret's data built from it.
	database *xpander.Database
	data     map[string][]byte
	// synced is set when every step succeeded; skipped when no sync was due; due once the
	// due-check passed; repeated when a failure only repeats the last attempt's.
	synced, skipped, due, repeated bool
	// next is when the next sync is due, when it was not due now.
	next time.Time
	// secretEvent says what happened to the managed Secret ("created", "updated"), if anything.
	secretEvent string
}

func (r *XpanderDatabaseReconciler) now() time.Time {
	c := r.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	// Status times are stored with second precision; deciding with the same precision
	// keeps the next sync exactly where status says it is.
	return c.Now().Truncate(time.Second)
}

// findManagedSecret loads the managed Secret and makes sure this object owns it. A Secret of
// that name that this object does not control is never changed.
func (r *XpanderDatabaseReconciler) findManagedSecret(ctx context.Context, s *syncState) error {
	name := s.obj.ManagedSecretName()
	key := types.NamespacedName{Namespace: s.obj.Namespace, Name: name}

	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	switch {
	case err == nil:
		if !metav1.IsControlledBy(secret, s.obj) {
			return conflict(name)
		}
		s.managed = secret
		return nil
	case !apierrors.IsNotFound(err):
		return kubeFailure(err, "get Secret %s", name)
	}

	// The cache holds only Secrets carrying the operator's label; the metadata cache sees
	// every Secret. A Secret known only to the latter is someone else's, or one of ours the
	// label-filtered cache has not caught up with: a direct read tells which.
	other := &metav1.PartialObjectMetadata{}
	other.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if r.SecretMetadata == nil || r.SecretMetadata.Get(ctx, key, other) != nil {
		return nil
	}
	err = r.APIReader.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return kubeFailure(err, "get Secret %s", name)
	case !metav1.IsControlledBy(secret, s.obj):
		return conflict(name)
	}
	s.managed = secret
	return nil
}

func conflict(name string) *failure {
	return fail(databasev1alpha1.SecretConflictReason, needsUser,
		"Secret %s exists and is not owned by this XpanderDatabase; the operator leaves it untouched: "+
			"delete it or choose another spec.secretName", name)
}

// readSchedule checks spec.schedule and spec.timeZone.
func (r *XpanderDatabaseReconciler) readSchedule(s *syncState) error {
	sched, err := schedule.For(s.obj)
	if err != nil {
		return fail(databasev1alpha1.InvalidScheduleReason, needsUser, "%w", err)
	}
	s.schedule = sched
	return nil
}

// Annotations that request a sync now. Any new value does; the operator records the value
// it acted on in status.lastHandledSyncRequest. Flux's is accepted so that `flux reconcile`
// style tooling works unchanged.
const (
	SyncRequestAnnotation     = "database.xpander.ai/sync-requested-at"
	FluxSyncRequestAnnotation = "reconcile.fluxcd.io/requestedAt"
)

// syncRequest returns the sync-request annotations' combined value, "" when neither is set.
func syncRequest(obj *databasev1alpha1.XpanderDatabase) string {
	var parts []string
	for _, a := range []string{SyncRequestAnnotation, FluxSyncRequestAnnotation} {
		if v := obj.Annotations[a]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ",")
}

// compileShape checks spec.secretTemplate before anything is fetched or written.
func (r *XpanderDatabaseReconciler) compileShape(s *syncState) error {
	shape, err := connsecret.Compile(s.obj.Spec.SecretTemplate)
	if err != nil {
		return fail(databasev1alpha1.InvalidSecretTemplateReason, needsUser, "%w", err)
	}
	s.shape = shape
	return nil
}

// syncDue decides whether to ask the xpander API now. Everything it looks at is cached, so a
// reconciliation that is not due makes no request at all.
func (r *XpanderDatabaseReconciler) syncDue(ctx context.Context, s *syncState) bool {
	last, known := r.lastSync(s.obj)
	s.request = syncRequest(s.obj)
	why := ""
	requested := s.request != "" && s.request != last.request
	switch {
	case !known:
		why = "never synced"
	case last.generation != s.obj.Generation:
		why = "spec changed"
	case r.keySecretVersion(ctx, s.obj) != last.keyVersion:
		why = "API key Secret changed"
	case requested && last.ok:
		why = "sync requested"
	case !s.now.Before(last.next):
		why = "next sync time reached"
	case !last.ok && last.reason == databasev1alpha1.SecretConflictReason:
		why = "the conflicting Secret is gone"
	case !last.ok:
		// A failed sync is retried at its next sync time, not on every event: backoff and
		// Retry-After hold however busy the watches are, sync requests included.
	case s.managed == nil:
		why = "managed Secret missing"
	case !intact(s.managed):
		why = "managed Secret changed by someone else"
	}
	// A requested sync asks the API rather than take a shared answer, and stays requested
	// until a sync succeeds.
	s.forced = requested
	if why == "" {
		s.skipped, s.next = true, last.next
		logf.FromContext(ctx).V(1).Info("sync not due", "next", last.next.Format(time.RFC3339))
		return false
	}
	logf.FromContext(ctx).V(1).Info("sync due", "why", why)
	s.due = true
	return true
}

// lastSync returns the latest sync attempt of obj: the one this process remembers, or else
// the one its status records. It reports false when there has been none.
func (r *XpanderDatabaseReconciler) lastSync(obj *databasev1alpha1.XpanderDatabase) (syncRecord, bool) {
	if v, ok := r.recent.Load(client.ObjectKeyFromObject(obj)); ok && v.(syncRecord).uid == obj.UID {
		return v.(syncRecord), true
	}
	st := obj.Status
	c := meta.FindStatusCondition(st.Conditions, databasev1alpha1.ReadyCondition)
	if c == nil || st.NextSyncTime == nil {
		return syncRecord{}, false
	}
	return syncRecord{
		uid:        obj.UID,
		ok:         c.Status == metav1.ConditionTrue,
		reason:     c.Reason,
		generation: st.ObservedGeneration,
		keyVersion: st.APIKeySecretVersion,
		next:       st.NextSyncTime.Time,
		credential: st.CredentialFingerprint,
		request:    st.LastHandledSyncRequest,
		failures:   st.ConsecutiveFailures,
	}, true
}

// keySecretVersion returns the key Secret's resourceVersion from the metadata cache, or ""
// when it is not there.
func (r *XpanderDatabaseReconciler) keySecretVersion(ctx context.Context, obj *databasev1alpha1.XpanderDatabase) string {
	if r.SecretMetadata == nil {
		return ""
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.APIKeySecretRef.Name}
	if err := r.SecretMetadata.Get(ctx, key, m); err != nil {
		return ""
	}
	return m.ResourceVersion
}

// readAPIKey reads the API key from its Secret, straight from the API server.
func (r *XpanderDatabaseReconciler) readAPIKey(ctx context.Context, s *syncState) (string, error) {
	ref := s.obj.Spec.APIKeySecretRef
	entry := s.obj.APIKeySecretKey()

	key := types.NamespacedName{Namespace: s.obj.Namespace, Name: ref.Name}
	version, data := r.keySecretData(ctx, s.obj, key)
	if data == nil {
		secret := &corev1.Secret{}
		err := r.APIReader.Get(ctx, key, secret)
		switch {
		case apierrors.IsNotFound(err):
			r.keySecrets.Delete(key)
			return "", fail(databasev1alpha1.APIKeySecretNotFoundReason, needsUser,
				"API key Secret %s not found", ref.Name)
		case err != nil:
			return "", kubeFailure(err, "get API key Secret %s", ref.Name)
		}
		version, data = secret.ResourceVersion, secret.Data
		r.keySecrets.Store(key, keySecret{version: version, data: data})
	}

	s.keyVersion = version
	value, ok := data[entry]
	if !ok {
		return "", fail(databasev1alpha1.APIKeyNotFoundReason, needsUser,
			"API key Secret %s has no entry %q", ref.Name, entry)
	}
	// A key written with --from-file usually ends in a newline; no API key has white space.
	apiKey := strings.TrimSpace(string(value))
	if apiKey == "" {
		return "", fail(databasev1alpha1.APIKeyEmptyReason, needsUser,
			"API key Secret %s has an empty entry %q", ref.Name, entry)
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", fail(databasev1alpha1.APIKeyEmptyReason, needsUser,
			"API key Secret %s entry %q holds control characters; it cannot be sent as a header", ref.Name, entry)
	}
	return apiKey, nil
}

// keySecret is a key Secret's data as last read, with the resourceVersion it had.
type keySecret struct {
	version string
	data    map[string][]byte
}

// keySecretData returns the key Secret's data as last read when the metadata cache says the
// Secret has not changed since, so that the many objects of a namespace that share one key
// Secret do not each read it from the API server. It returns nil data when it must be read.
func (r *XpanderDatabaseReconciler) keySecretData(ctx context.Context, obj *databasev1alpha1.XpanderDatabase, key types.NamespacedName) (string, map[string][]byte) {
	v, ok := r.keySecrets.Load(key)
	if !ok {
		return "", nil
	}
	cached := v.(keySecret)
	if version := r.keySecretVersion(ctx, obj); version == "" || version != cached.version {
		return "", nil
	}
	return cached.version, cached.data
}

// fetchDatabase asks the xpander API for the connection and builds the Secret's data.
func (r *XpanderDatabaseReconciler) fetchDatabase(ctx context.Context, s *syncState, apiKey string) error {
	maxAge := min(r.AnswerMaxAge, s.obj.RefreshInterval()/2)
	if s.forced {
		maxAge = 0
	}
	db, err := r.Xpander.GetDatabase(ctx, apiKey, maxAge)
	if err != nil {
		return apiFailure(err)
	}
	data, err := secretData(db, s.shape)
	if err != nil {
		return err
	}
	s.database, s.data = db, data
	s.credential = credentialFingerprint(s.obj, db.ConnectionURI)
	if last, ok := r.lastSync(s.obj); ok && last.credential != "" {
		s.rotated = last.credential != s.credential
	}
	return nil
}

// writeSecret creates the managed Secret or brings it up to date. A Secret that already
// holds the data is not written.
func (r *XpanderDatabaseReconciler) writeSecret(ctx context.Context, s *syncState) error {
	name := s.obj.ManagedSecretName()

	if s.managed != nil && s.managed.Type != s.shape.Type {
		// A Secret's type cannot change: replace the Secret. The API server first checks
		// the replacement in a dry run under another name, so that a Secret it would
		// refuse never costs the one that works.
		trial := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.obj.Namespace, GenerateName: "xdb-type-check-"}}
		desiredSecret(trial, s.obj, s.shape, s.data, s.credential)
		if err := r.Create(ctx, trial, client.DryRunAll); err != nil {
			return kubeFailure(err, "check Secret %s with type %s", name, s.shape.Type)
		}
		err := r.Delete(ctx, s.managed, client.Preconditions{UID: &s.managed.UID})
		if err != nil && !apierrors.IsNotFound(err) {
			return kubeFailure(err, "delete Secret %s to change its type", name)
		}
		metrics.SecretWrites.WithLabelValues("delete").Inc()
		s.managed = nil
	}

	if s.managed == nil {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.obj.Namespace, Name: name}}
		desiredSecret(secret, s.obj, s.shape, s.data, s.credential)
		if err := controllerutil.SetControllerReference(s.obj, secret, r.Scheme()); err != nil {
			return kubeFailure(err, "set owner of Secret %s", name)
		}
		if err := r.Create(ctx, secret); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return conflict(name)
			}
			return kubeFailure(err, "create Secret %s", name)
		}
		s.secretEvent = "created"
		metrics.SecretWrites.WithLabelValues("create").Inc()
		return nil
	}

	// The cached Secret may lag behind an edit made a moment ago; on a conflict, read it
	// afresh and try again with the answer already in hand rather than asking the API anew.
	current := s.managed
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		secret := current.DeepCopy()
		if !desiredSecret(secret, s.obj, s.shape, s.data, s.credential) {
			return nil
		}
		err := r.Update(ctx, secret)
		if apierrors.IsConflict(err) {
			fresh := &corev1.Secret{}
			if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), fresh); gerr != nil {
				return gerr
			}
			if !metav1.IsControlledBy(fresh, s.obj) {
				return conflict(name)
			}
			current = fresh
			return err
		}
		if err == nil {
			s.secretEvent = "updated"
			metrics.SecretWrites.WithLabelValues("update").Inc()
		}
		return err
	})
	var f *failure
	switch {
	case errors.As(err, &f):
		return f
	case apierrors.IsNotFound(err):
		return kubeFailure(err, "update Secret %s: it was deleted meanwhile", name)
	case err != nil:
		return kubeFailure(err, "update Secret %s", name)
	}
	return nil
}

// removeRenamedSecret deletes the Secret this object wrote under a previous spec.secretName.
func (r *XpanderDatabaseReconciler) removeRenamedSecret(ctx context.Context, s *syncState) error {
	old := s.obj.Status.SecretName
	if old == "" || old == s.obj.ManagedSecretName() {
		return nil
	}
	secret := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: s.obj.Namespace, Name: old}, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return kubeFailure(err, "get previous Secret %s", old)
	case !metav1.IsControlledBy(secret, s.obj):
		return nil
	}
	err = r.Delete(ctx, secret, client.Preconditions{UID: &secret.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return kubeFailure(err, "delete previous Secret %s", old)
	}
	metrics.SecretWrites.WithLabelValues("delete").Inc()
	return nil
}

// finish records the outcome in status (one patch, only when something changed), emits
// events, and says when to come back.
func (r *XpanderDatabaseReconciler) finish(ctx context.Context, s *syncState, err error) (ctrl.Result, error) {
	obj := s.obj
	var f *failure

	switch {
	case err != nil:
		f = asFailure(err)
		r.markFailed(s, f)
	case s.synced:
		r.markSynced(s)
	}

	if perr := r.patchStatus(ctx, s.before, obj); perr != nil {
		// A failed status write loses nothing: the Secret is already right, and the sync is
		// repeated when the error comes back around.
		r.recent.Delete(client.ObjectKeyFromObject(obj))
		return ctrl.Result{}, fmt.Errorf("patch status: %w", perr)
	}

	next := s.next
	if s.synced || f != nil {
		st := obj.Status
		next = st.NextSyncTime.Time
		r.recent.Store(client.ObjectKeyFromObject(obj), syncRecord{
			uid:        obj.UID,
			ok:         s.synced,
			reason:     meta.FindStatusCondition(st.Conditions, databasev1alpha1.ReadyCondition).Reason,
			generation: obj.Generation,
			keyVersion: st.APIKeySecretVersion,
			next:       next,
			credential: st.CredentialFingerprint,
			request:    st.LastHandledSyncRequest,
			failures:   st.ConsecutiveFailures,
		})
	}

	r.emitEvents(s, f)
	r.count(s, f)
	if f != nil && !s.repeated {
		// Info, not Error: a failed sync is an expected state with its own condition and
		// event, and error-level lines carry a stack trace in production logging.
		logf.FromContext(ctx).Info("sync failed", "reason", f.reason, "error", f.Error(),
			"failures", obj.Status.ConsecutiveFailures, "retryAt", next.Format(time.RFC3339))
	}

	// A scheduled return is low priority, so that refreshes never starve objects that have
	// not synced yet (controller-runtime's priority queue lists new objects low too).
	return ctrl.Result{RequeueAfter: max(next.Sub(r.now()), time.Second), Priority: ptr.To(handler.LowPriority)}, nil
}

func (r *XpanderDatabaseReconciler) markSynced(s *syncState) {
	obj, db := s.obj, s.database
	now := metav1.NewTime(s.now)
	next := metav1.NewTime(s.schedule.Next(s.now))

	obj.Status.ObservedGeneration = obj.Generation
	obj.Status.SecretName = obj.ManagedSecretName()
	obj.Status.Database = &databasev1alpha1.DatabaseInfo{
		ID: db.ID, Name: db.Name, OrganizationID: db.OrganizationID,
	}
	obj.Status.LastSyncTime = &now
	obj.Status.LastAttemptTime = &now
	obj.Status.NextSyncTime = &next
	obj.Status.ConsecutiveFailures = 0
	obj.Status.APIKeySecretVersion = s.keyVersion
	obj.Status.CredentialFingerprint = s.credential
	obj.Status.LastHandledSyncRequest = s.request
	if s.rotated {
		obj.Status.LastRotationTime = &now
	}
	r.markRestarts(obj, s.restarts)

	setCondition(obj, databasev1alpha1.ReadyCondition, metav1.ConditionTrue, databasev1alpha1.SyncedReason,
		fmt.Sprintf("Secret %s holds the connection to database %s", obj.Status.SecretName, db.ID))
	meta.RemoveStatusCondition(&obj.Status.Conditions, databasev1alpha1.ReconcilingCondition)
	meta.RemoveStatusCondition(&obj.Status.Conditions, databasev1alpha1.StalledCondition)
}

// count records the attempt in the operator's metrics.
func (r *XpanderDatabaseReconciler) count(s *syncState, f *failure) {
	switch {
	case s.synced:
		metrics.Syncs.WithLabelValues("success", databasev1alpha1.SyncedReason).Inc()
		metrics.LastSuccess.WithLabelValues(s.obj.Namespace, s.obj.Name).Set(float64(s.now.Unix()))
		if s.rotated {
			metrics.Rotations.Inc()
		}
	case f != nil && !s.repeated:
		metrics.Syncs.WithLabelValues("failure", f.reason).Inc()
	}
}

// markFailed records a failed attempt and when to try again: after refreshInterval when a
// person has to act (sooner if the spec or a Secret it names changes), when the API said
// for a 429, and after a growing backoff for a transient failure.
func (r *XpanderDatabaseReconciler) markFailed(s *syncState, f *failure) {
	obj := s.obj
	msg := f.Error()
	last, _ := r.lastSync(obj)

	// A check that fails before any sync is due (a name conflict, a bad template or
	// schedule) fails again on every event until someone acts; counting each of those as
	// an attempt would only churn status.
	s.repeated = !s.due && !last.ok && last.reason == f.reason && last.generation == obj.Generation
	if s.repeated {
		s.next = last.next
		return
	}

	now := metav1.NewTime(s.now)
	obj.Status.ObservedGeneration = obj.Generation
	obj.Status.LastAttemptTime = &now
	obj.Status.ConsecutiveFailures = last.failures + 1
	obj.Status.APIKeySecretVersion = s.keyVersion
	setCondition(obj, databasev1alpha1.ReadyCondition, metav1.ConditionFalse, f.reason, msg)

	var wait time.Duration
	switch f.policy {
	case needsUser:
		wait = obj.RefreshInterval()
		setCondition(obj, databasev1alpha1.StalledCondition, metav1.ConditionTrue, f.reason, msg)
		meta.RemoveStatusCondition(&obj.Status.Conditions, databasev1alpha1.ReconcilingCondition)
	case waitFor:
		wait = f.after
	default:
		wait = r.backoff(obj.Status.ConsecutiveFailures)
	}
	if f.policy != needsUser {
		setCondition(obj, databasev1alpha1.ReconcilingCondition, metav1.ConditionTrue, databasev1alpha1.RetryingReason,
			fmt.Sprintf("retrying in %s: %s", wait.Round(time.Second), msg))
		meta.RemoveStatusCondition(&obj.Status.Conditions, databasev1alpha1.StalledCondition)
	}
	next := metav1.NewTime(s.now.Add(wait))
	obj.Status.NextSyncTime = &next
}

// Defaults for the backoff after transient failures.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
)

// backoff returns the wait after the given number of consecutive failures: the base,
// doubled per further failure, capped, plus up to a tenth at random so that objects that
// failed together do not retry together.
func (r *XpanderDatabaseReconciler) backoff(failures int32) time.Duration {
	base, ceiling := r.BackoffBase, r.BackoffMax
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if ceiling <= 0 {
		ceiling = DefaultBackoffMax
	}
	d := base
	for i := int32(1); i < failures && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d + rand.N(d/10+1)
}

func setCondition(obj *databasev1alpha1.XpanderDatabase, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: obj.Generation,
	})
}

// patchStatus writes the status when it differs from what was read. The patch carries the
// whole status rather than a diff: the object read from the cache may lag behind the last
// write, and a diff against it could leave a stale field in place. A merge patch without a
// resourceVersion cannot conflict; the operator is the status's only writer.
func (r *XpanderDatabaseReconciler) patchStatus(ctx context.Context, before, obj *databasev1alpha1.XpanderDatabase) error {
	if equality.Semantic.DeepEqual(before.Status, obj.Status) {
		return nil
	}
	patch, err := statusPatch(obj.Status)
	if err != nil {
		return err
	}
	// The patch's answer would overwrite obj with the object as it is now, possibly a newer
	// generation than the one this reconciliation acted on; keep obj as it was read. A
	// refusal that may pass on its own is retried here, with the sync's result in hand,
	// rather than by syncing again.
	err = retry.OnError(retry.DefaultBackoff, retriable, func() error {
		return r.Status().Patch(ctx, obj.DeepCopy(), client.RawPatch(types.MergePatchType, patch))
	})
	return client.IgnoreNotFound(err)
}

// retriable reports the API server's refusals that a moment's wait can cure.
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)
}

// statusPatch returns a JSON merge patch that sets the whole status: every field of st,
// and null for each field st leaves empty, so that a count back at zero or a field no longer
// set is cleared on the server too (omitempty would leave it out, and a merge patch keeps
// what it does not mention).
func statusPatch(st databasev1alpha1.XpanderDatabaseStatus) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	t := reflect.TypeOf(st)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if _, set := fields[name]; !set && name != "" && name != "-" {
			fields[name] = nil
		}
	}
	return json.Marshal(map[string]any{"status": fields})
}

// emitEvents tells people what changed: a Secret written, or a new kind of failure. A
// failure that repeats with the same reason is not announced again.
func (r *XpanderDatabaseReconciler) emitEvents(s *syncState, f *failure) {
	if r.Recorder == nil {
		return
	}
	obj := s.obj
	switch {
	case s.synced && s.rotated:
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, databasev1alpha1.RotatedReason, "Rotate",
			"the credential for database %s changed; Secret %s holds the new one%s",
			s.database.ID, obj.ManagedSecretName(), s.restarts.summary())
	case s.secretEvent == "updated":
		// Only changes after the first sync are announced: the first sync's outcome is in
		// the Ready condition, and an event per new object would be the only API-server
		// request beyond the three a first sync needs (key, Secret, status).
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, databasev1alpha1.SyncedReason, "Sync",
			"updated Secret %s with the connection to database %s", obj.ManagedSecretName(), s.database.ID)
	}
	if s.restarts != nil && len(s.restarts.failed) > 0 {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, databasev1alpha1.RestartFailedReason, "Restart",
			"%s", s.restarts.failureMessage())
	}
	if f == nil {
		return
	}
	prev := meta.FindStatusCondition(s.before.Status.Conditions, databasev1alpha1.ReadyCondition)
	if prev != nil && prev.Status == metav1.ConditionFalse && prev.Reason == f.reason &&
		prev.ObservedGeneration == obj.Generation {
		return
	}
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, f.reason, "Sync", "%s", f.Error())
}

// SetupScheme is a convenience for callers that build a scheme for this reconciler.
func SetupScheme(s *runtime.Scheme) error {
	if err := corev1.AddToScheme(s); err != nil {
		return err
	}
	return databasev1alpha1.AddToScheme(s)
}
