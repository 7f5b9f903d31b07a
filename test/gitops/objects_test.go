// Package gitops_test checks what GitOps tools make of an XpanderDatabase's status: the
// Argo CD health check and resource actions in docs/argocd, and the kstatus reading that
// Flux applies (docs/gitops/flux.md). Each tool is shown the same objects, one per state the
// operator can leave an object in, so that their verdicts can be compared side by side.
package gitops_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// generation is the metadata.generation of the objects below, unless a state changes it.
const generation = 3

// Messages the operator writes, reused by the expectations.
const (
	syncedMessage        = "Secret xpander-db holds the connection to database db-123"
	serverErrorMessage   = "xpander API answered HTTP 503"
	retryingMessage      = "retrying in 8s: " + serverErrorMessage
	unauthorizedMessage  = "xpander API refused the API key (HTTP 401): the key is wrong or was revoked"
	forbiddenMessage     = "update Secret apps/xpander-db: forbidden"
	restartFailedMessage = "Deployment api: not found"
)

// state is an XpanderDatabase as a GitOps tool reads it from the API server.
type state func(t *testing.T) map[string]any

// object builds an XpanderDatabase at generation 3 with the given conditions and turns it into
// the unstructured form tools read. The status says it describes generation 3.
func object(
	t *testing.T, edit func(*databasev1alpha1.XpanderDatabase), conditions ...metav1.Condition,
) map[string]any {
	t.Helper()
	xdb := &databasev1alpha1.XpanderDatabase{
		TypeMeta: metav1.TypeMeta{
			APIVersion: databasev1alpha1.GroupVersion.String(),
			Kind:       "XpanderDatabase",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:        "xpander-db",
			Namespace:   "apps",
			Generation:  generation,
			Annotations: map[string]string{"team": "data"},
			Labels:      map[string]string{"app.kubernetes.io/part-of": "shop"},
		},
		Spec: databasev1alpha1.XpanderDatabaseSpec{
			APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: "xpander-api-key", Key: "api-key"},
			RolloutRestartTargets: []databasev1alpha1.RolloutRestartTarget{
				{Kind: "Deployment", Name: "api"},
			},
		},
		Status: databasev1alpha1.XpanderDatabaseStatus{
			ObservedGeneration: generation,
			SecretName:         "xpander-db",
			Conditions:         conditions,
		},
	}
	if edit != nil {
		edit(xdb)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(xdb)
	if err != nil {
		t.Fatalf("convert XpanderDatabase to unstructured: %v", err)
	}
	return u
}

// condition is a condition stamped with generation 3.
func condition(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{
		Type:               typ,
		Status:             status,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.Unix(1767225600, 0),
		Reason:             reason,
		Message:            message,
	}
}

func readyTrue() metav1.Condition {
	return condition(databasev1alpha1.ReadyCondition, metav1.ConditionTrue,
		databasev1alpha1.SyncedReason, syncedMessage)
}

// The states. Their names are used in every table below.

// asCreated: the object as `kubectl apply` or a GitOps tool creates it. The API server drops
// status on create (status is a subresource), and the operator has not synced yet.
func asCreated(t *testing.T) map[string]any {
	u := object(t, nil)
	delete(u, "status")
	return u
}

// withEmptyStatus: a status that holds nothing yet.
func withEmptyStatus(t *testing.T) map[string]any {
	u := object(t, nil)
	u["status"] = map[string]any{}
	return u
}

func synced(t *testing.T) map[string]any {
	return object(t, nil, readyTrue())
}

// specChanged: someone changed the spec (generation 4) and the operator has not acted on it;
// the status still describes generation 3.
func specChanged(t *testing.T) map[string]any {
	return object(t, func(x *databasev1alpha1.XpanderDatabase) {
		x.Generation = generation + 1
	}, readyTrue())
}

// readyFromAnOlderSpec: status.observedGeneration is current but the Ready condition says it
// was written for generation 2.
func readyFromAnOlderSpec(t *testing.T) map[string]any {
	ready := readyTrue()
	ready.ObservedGeneration = generation - 1
	return object(t, nil, ready)
}

// retryingAServerError: the xpander API answered 503; the operator retries with a backoff.
func retryingAServerError(t *testing.T) map[string]any {
	return object(t, func(x *databasev1alpha1.XpanderDatabase) {
		x.Status.ConsecutiveFailures = 2
	},
		condition(databasev1alpha1.ReadyCondition, metav1.ConditionFalse,
			databasev1alpha1.APIServerErrorReason, serverErrorMessage),
		condition(databasev1alpha1.ReconcilingCondition, metav1.ConditionTrue,
			databasev1alpha1.RetryingReason, retryingMessage),
	)
}

// stalledOnAWrongKey: the API refused the key; nothing will change until someone fixes it.
func stalledOnAWrongKey(t *testing.T) map[string]any {
	return object(t, func(x *databasev1alpha1.XpanderDatabase) {
		x.Status.ConsecutiveFailures = 1
	},
		condition(databasev1alpha1.ReadyCondition, metav1.ConditionFalse,
			databasev1alpha1.UnauthorizedReason, unauthorizedMessage),
		condition(databasev1alpha1.StalledCondition, metav1.ConditionTrue,
			databasev1alpha1.UnauthorizedReason, unauthorizedMessage),
	)
}

// readyFalseAlone: Ready False with neither Reconciling nor Stalled. The operator always
// adds one of the two to a failure; a tool still has to say something about this state.
func readyFalseAlone(t *testing.T) map[string]any {
	return object(t, nil, condition(databasev1alpha1.ReadyCondition, metav1.ConditionFalse,
		databasev1alpha1.KubernetesAPIErrorReason, forbiddenMessage))
}

// suspendedAfterASync: spec.suspend was set on a synced object. Setting it changed the spec
// (generation 4); the operator acknowledges it by stamping status.observedGeneration, and
// leaves the conditions describing the last sync (generation 3).
func suspendedAfterASync(t *testing.T) map[string]any {
	return object(t, func(x *databasev1alpha1.XpanderDatabase) {
		x.Generation = generation + 1
		x.Status.ObservedGeneration = generation + 1
		x.Spec.Suspend = true
	}, readyTrue())
}

// suspendedWhileStalled: suspended while the key was being refused.
func suspendedWhileStalled(t *testing.T) map[string]any {
	u := stalledOnAWrongKey(t)
	u["metadata"].(map[string]any)["generation"] = int64(generation + 1)
	u["spec"].(map[string]any)["suspend"] = true
	return u
}

// createdSuspended: created with spec.suspend true, so it has never had a status.
// The operator acknowledges the generation and writes nothing else.
func createdSuspended(t *testing.T) map[string]any {
	u := object(t, func(x *databasev1alpha1.XpanderDatabase) {
		x.Spec.Suspend = true
	})
	u["status"] = map[string]any{"observedGeneration": int64(generation)}
	return u
}

// syncedButARestartFailed: the Secret is current, but the last rotation could not restart
// one of the rolloutRestartTargets. WorkloadsRestarted does not affect Ready.
func syncedButARestartFailed(t *testing.T) map[string]any {
	return object(t, nil, readyTrue(),
		condition(databasev1alpha1.WorkloadsRestartedCondition, metav1.ConditionFalse,
			databasev1alpha1.RestartFailedReason, restartFailedMessage))
}
