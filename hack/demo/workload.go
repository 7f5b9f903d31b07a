package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The workload the demo lists in spec.rolloutRestartTargets, and the annotations a user
// reads and writes. They are spelled out as the README spells them, not imported from the
// operator, so that the demo fails when the two drift apart.
const (
	workloadName          = "app"
	workloadRef           = "Deployment/" + workloadName
	workloadImage         = "registry.invalid/app:1"
	fingerprintAnnotation = "database.xpander.ai/credential-fingerprint"
	syncRequestAnnotation = "database.xpander.ai/sync-requested-at"
)

// workloadState is what the demo reads of the Deployment.
type workloadState struct {
	version     string // metadata.resourceVersion
	fingerprint string // the pod template's credential-fingerprint annotation, "" when absent
}

// objectState is what the demo reads of the XpanderDatabase besides Ready's status.
type objectState struct {
	observedGeneration     int64
	ready                  string
	fingerprint            string
	lastRotationTime       string
	lastHandledSyncRequest string
	restarted              *condition // WorkloadsRestarted, nil when absent
}

type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// 6. A workload for the operator to restart on rotation.
func (d *demo) addRestartTarget(ctx context.Context) error {
	c := d.cluster
	d.note("the control plane runs no controllers and no kubelet: the Deployment is an object only,")
	d.note("its image is never pulled; what matters is its pod template, which a rollout restart changes")
	d.shell("kubectl create deployment %s --image=%s", workloadName, workloadImage)
	if _, err := c.kubectl(ctx, "", 15*time.Second, "create", "deployment", workloadName, "-n", namespace,
		"--image="+workloadImage); err != nil {
		return err
	}
	w, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	if w.fingerprint != "" {
		return fmt.Errorf("the new %s already carries %s", workloadRef, fingerprintAnnotation)
	}
	d.saw("Deployment %s/%s created (resourceVersion %s), image %s",
		namespace, workloadName, w.version, workloadImage)

	d.note("list it in the object's spec; the operator will roll it when the credential changes")
	patch := fmt.Sprintf(`{"spec":{"rolloutRestartTargets":[{"kind":"Deployment","name":%q}]}}`, workloadName)
	gen, err := d.patchSpec(ctx, patch)
	if err != nil {
		return err
	}
	// The key is still the placeholder, so the operator acts on the new generation by
	// failing as before; waiting for that makes the first successful sync see the target.
	err = poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		o, err := d.readObject(ctx)
		if err != nil {
			return false, "", err
		}
		return fmt.Sprint(o.observedGeneration) == gen,
			fmt.Sprintf("observedGeneration is %d, want %s", o.observedGeneration, gen), nil
	})
	if err != nil {
		return d.withOperatorState(err)
	}
	d.saw("spec.rolloutRestartTargets is [%s], set with kubectl patch --type merge "+
		"(generation %s, seen by the operator)", workloadRef, gen)
	return ctx.Err()
}

// 11. A sync request that finds the credential of the rotation again.
func (d *demo) requestAgain(ctx context.Context) error {
	before, err := d.readObject(ctx)
	if err != nil {
		return err
	}
	secretVersion, _, err := d.readManagedSecret(ctx)
	if err != nil {
		return err
	}
	w, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}

	d.note("the API still answers the rotated URI: the rotation is over, so nothing may be restarted again")
	value, err := d.requestSync(ctx)
	if err != nil {
		return err
	}
	after, err := d.waitSyncHandled(ctx, value)
	if err != nil {
		return err
	}
	d.saw("status.lastHandledSyncRequest is %s and Ready=True", after.lastHandledSyncRequest)

	w2, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	if w2.version != w.version {
		return fmt.Errorf("%s was changed again (resourceVersion %s -> %s) although the credential did not change",
			workloadRef, w.version, w2.version)
	}
	d.saw("%s resourceVersion still %s: restarted once per rotation", workloadRef, w2.version)

	version, _, err := d.readManagedSecret(ctx)
	if err != nil {
		return err
	}
	switch {
	case version != secretVersion:
		return fmt.Errorf("the Secret changed although the API's answer did not (resourceVersion %s -> %s)",
			secretVersion, version)
	case after.fingerprint != before.fingerprint:
		return fmt.Errorf("status.credentialFingerprint changed from %s to %s without a new credential",
			before.fingerprint, after.fingerprint)
	case after.lastRotationTime != before.lastRotationTime:
		return fmt.Errorf("status.lastRotationTime moved from %s to %s without a new credential",
			before.lastRotationTime, after.lastRotationTime)
	}
	d.saw("Secret resourceVersion still %s; credentialFingerprint and lastRotationTime (%s) unchanged",
		version, after.lastRotationTime)
	d.facts = append(d.facts, fmt.Sprintf("%s restarted by the rotation only: not by the first sync, "+
		"not by the unchanged sync, not by a later sync request", workloadRef))
	return ctx.Err()
}

// checkRestarted checks what a user sees of the rotation besides the Secret: the workload's
// pod template carries the new fingerprint, the status records the rotation, a Rotated event
// was emitted and WorkloadsRestarted is True. before is the workload as it was before.
func (d *demo) checkRestarted(ctx context.Context, o objectState, before workloadState) error {
	if o.fingerprint == "" || o.fingerprint == d.firstFingerprint {
		return fmt.Errorf("status.credentialFingerprint is %q after the rotation, the first sync's was %q",
			o.fingerprint, d.firstFingerprint)
	}
	d.saw("status.credentialFingerprint %s -> %s", short(d.firstFingerprint), short(o.fingerprint))
	if o.lastRotationTime == "" {
		return fmt.Errorf("status.lastRotationTime is not set after the rotation")
	}
	d.saw("status.lastRotationTime %s", o.lastRotationTime)

	d.shell("kubectl get deployment %s -o jsonpath='{.spec.template.metadata.annotations}'", workloadName)
	w, err := d.readWorkload(ctx)
	if err != nil {
		return err
	}
	if w.fingerprint != o.fingerprint {
		return fmt.Errorf("%s's pod template has %s=%q, want the status's %q",
			workloadRef, fingerprintAnnotation, w.fingerprint, o.fingerprint)
	}
	if w.version == before.version {
		return fmt.Errorf("%s's resourceVersion is still %s", workloadRef, w.version)
	}
	d.workloadVersion = w.version
	d.saw("%s pod template: %s=%s, equal to the status's (resourceVersion %s -> %s)", workloadRef,
		fingerprintAnnotation, short(w.fingerprint), before.version, w.version)

	switch r := o.restarted; {
	case r == nil:
		return fmt.Errorf("no WorkloadsRestarted condition after the rotation")
	case r.Status != "True" || !strings.Contains(r.Message, "restarted "+workloadRef):
		return fmt.Errorf("WorkloadsRestarted is %s (reason %s): %s, want True naming %s",
			r.Status, r.Reason, r.Message, workloadRef)
	default:
		d.saw("WorkloadsRestarted=%s reason=%s: %s", r.Status, r.Reason, r.Message)
	}

	selector := "involvedObject.kind=XpanderDatabase,involvedObject.name=xpander-db,reason=Rotated"
	d.shell("kubectl get events --field-selector %s", selector)
	var message string
	err = poll(ctx, 20*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", "events", "-n", namespace,
			"--field-selector="+selector, "-o", `jsonpath={range .items[*]}{.message}{"\n"}{end}`)
		if err != nil {
			return false, "", err
		}
		message = firstLine(out)
		return message != "", "no Rotated event for the object", nil
	})
	if err != nil {
		return err
	}
	d.saw("event Rotated: %s", message)
	return nil
}

// readWorkload reads the Deployment's resourceVersion and pod template annotation.
func (d *demo) readWorkload(ctx context.Context) (workloadState, error) {
	out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", "deployment", workloadName, "-n", namespace,
		"-o", "json")
	if err != nil {
		return workloadState{}, err
	}
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return workloadState{}, fmt.Errorf("read %s: %w", workloadRef, err)
	}
	return workloadState{
		version:     obj.Metadata.ResourceVersion,
		fingerprint: obj.Spec.Template.Metadata.Annotations[fingerprintAnnotation],
	}, nil
}

// readObject reads the status fields of the XpanderDatabase that the demo checks.
func (d *demo) readObject(ctx context.Context) (objectState, error) {
	out, err := d.cluster.kubectl(ctx, "", 15*time.Second, "get", objectRef, "-n", namespace, "-o", "json")
	if err != nil {
		return objectState{}, err
	}
	var obj struct {
		Status struct {
			ObservedGeneration     int64       `json:"observedGeneration"`
			CredentialFingerprint  string      `json:"credentialFingerprint"`
			LastRotationTime       string      `json:"lastRotationTime"`
			LastHandledSyncRequest string      `json:"lastHandledSyncRequest"`
			Conditions             []condition `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return objectState{}, fmt.Errorf("read %s: %w", objectRef, err)
	}
	st := obj.Status
	o := objectState{
		observedGeneration:     st.ObservedGeneration,
		fingerprint:            st.CredentialFingerprint,
		lastRotationTime:       st.LastRotationTime,
		lastHandledSyncRequest: st.LastHandledSyncRequest,
	}
	for i, c := range st.Conditions {
		switch c.Type {
		case "Ready":
			o.ready = c.Status
		case "WorkloadsRestarted":
			o.restarted = &st.Conditions[i]
		}
	}
	return o, nil
}

// requestSync sets the sync-request annotation to a new value, as the README shows, and
// returns the value.
func (d *demo) requestSync(ctx context.Context) (string, error) {
	// Nanoseconds, so that two requests within one second still differ.
	value := time.Now().UTC().Format(time.RFC3339Nano)
	d.shell("kubectl annotate %s %s=%s --overwrite", objectRef, syncRequestAnnotation, value)
	if _, err := d.cluster.kubectl(ctx, "", 15*time.Second, "annotate", objectRef, "-n", namespace,
		syncRequestAnnotation+"="+value, "--overwrite"); err != nil {
		return "", err
	}
	d.saw("sync requested with the annotation %s=%s", syncRequestAnnotation, value)
	return value, nil
}

// waitSyncHandled waits until the operator has acted on the sync request value and is Ready.
// The annotation does not change the generation, so observedGeneration cannot tell.
func (d *demo) waitSyncHandled(ctx context.Context, value string) (objectState, error) {
	var o objectState
	err := poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		var err error
		if o, err = d.readObject(ctx); err != nil {
			return false, "", err
		}
		return o.lastHandledSyncRequest == value && o.ready == "True",
			fmt.Sprintf("lastHandledSyncRequest is %q and Ready %q, want %q and True",
				o.lastHandledSyncRequest, o.ready, value), nil
	})
	return o, d.withOperatorState(err)
}

// short abbreviates a fingerprint for printing; the checks compare whole values.
func short(fingerprint string) string {
	if len(fingerprint) <= 19 {
		return fingerprint
	}
	return fingerprint[:19] + "..."
}
