package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;patch

// restartReport is what one rotation's rollout restarts did.
type restartReport struct {
	restarted []string // "Deployment/api", ...
	failed    []string // "Deployment/gone: not found", ...
}

func (r *restartReport) summary() string {
	if r == nil || len(r.restarted) == 0 {
		return ""
	}
	return "; restarted " + strings.Join(r.restarted, ", ")
}

func (r *restartReport) failureMessage() string {
	return "could not restart " + strings.Join(r.failed, "; ")
}

// restartWorkloads rolls the rolloutRestartTargets after a rotation (or after the first
// sync, when asked): it sets the credential fingerprint annotation on each target's pod
// template, which its controller treats as a template change, as `kubectl rollout restart`
// does. A target already carrying this credential's fingerprint is not patched again, so
// a rotation restarts each workload once however often it is retried. Failures are
// reported, never returned: the Secret is already right and must not wait for workloads.
func (r *XpanderDatabaseReconciler) restartWorkloads(ctx context.Context, s *syncState) {
	targets := s.obj.Spec.RolloutRestartTargets
	firstSync := s.obj.Status.CredentialFingerprint == "" && s.obj.Spec.RestartOnFirstSync
	if len(targets) == 0 || !(s.rotated || firstSync) {
		return
	}

	report := &restartReport{}
	for _, t := range targets {
		ref := t.Kind + "/" + t.Name
		patched, err := r.restartWorkload(ctx, s.obj.Namespace, t, s.credential)
		switch {
		case apierrors.IsNotFound(err):
			report.failed = append(report.failed, ref+": not found")
		case apierrors.IsForbidden(err):
			report.failed = append(report.failed, ref+": the operator may not patch it")
		case err != nil:
			report.failed = append(report.failed, fmt.Sprintf("%s: %v", ref, err))
		default:
			report.restarted = append(report.restarted, ref)
			if patched {
				logf.FromContext(ctx).Info("restarted workload for the new credential", "workload", ref)
			}
		}
	}
	s.restarts = report
}

// restartWorkload patches one workload's pod template unless it already carries this
// credential's fingerprint. It reports whether it patched.
func (r *XpanderDatabaseReconciler) restartWorkload(ctx context.Context, namespace string, t databasev1alpha1.RolloutRestartTarget, credential string) (bool, error) {
	w := &unstructured.Unstructured{}
	w.SetAPIVersion("apps/v1")
	w.SetKind(t.Kind)
	// Workloads are read straight from the API server: caching every Deployment in the
	// cluster for the few that are targets would cost memory for nothing.
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: t.Name}, w); err != nil {
		return false, err
	}
	current, _, _ := unstructured.NestedString(w.Object, "spec", "template", "metadata", "annotations", CredentialFingerprintAnnotation)
	if current == credential {
		return false, nil
	}
	patch, err := json.Marshal(map[string]any{
		"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{CredentialFingerprintAnnotation: credential},
		}}},
	})
	if err != nil {
		return false, err
	}
	return true, r.Patch(ctx, w, client.RawPatch(types.MergePatchType, patch))
}

// markRestarts records the last rotation's restarts in the WorkloadsRestarted condition.
func (r *XpanderDatabaseReconciler) markRestarts(obj *databasev1alpha1.XpanderDatabase, report *restartReport) {
	if len(obj.Spec.RolloutRestartTargets) == 0 {
		meta.RemoveStatusCondition(&obj.Status.Conditions, databasev1alpha1.WorkloadsRestartedCondition)
		return
	}
	if report == nil {
		return // no rotation this time: the condition still describes the last one
	}
	if len(report.failed) > 0 {
		setCondition(obj, databasev1alpha1.WorkloadsRestartedCondition, metav1.ConditionFalse,
			databasev1alpha1.RestartFailedReason, report.failureMessage())
		return
	}
	setCondition(obj, databasev1alpha1.WorkloadsRestartedCondition, metav1.ConditionTrue,
		databasev1alpha1.RotatedReason, "restarted "+strings.Join(report.restarted, ", "))
}
