package controller

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/schedule"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// workloads creates a Deployment, a StatefulSet and a DaemonSet named after their kind.
func (f *fixture) workloads() []client.Object {
	f.t.Helper()
	labels := map[string]string{"app": "demo"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	selector := &metav1.LabelSelector{MatchLabels: labels}
	objs := []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "api"},
			Spec: appsv1.DeploymentSpec{Selector: selector, Template: template}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "worker"},
			Spec: appsv1.StatefulSetSpec{Selector: selector, Template: template}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "agent"},
			Spec: appsv1.DaemonSetSpec{Selector: selector, Template: template}},
	}
	for _, o := range objs {
		f.g.Expect(k8sClient.Create(f.ctx, o)).To(Succeed())
	}
	f.obj.Spec.RolloutRestartTargets = []databasev1alpha1.RolloutRestartTarget{
		{Kind: "Deployment", Name: "api"}, {Kind: "StatefulSet", Name: "worker"}, {Kind: "DaemonSet", Name: "agent"},
	}
	return objs
}

// templateState returns each workload's restart annotation and resourceVersion.
func (f *fixture) templateState(objs []client.Object) (annotations, versions []string) {
	f.t.Helper()
	for _, o := range objs {
		cur := o.DeepCopyObject().(client.Object)
		f.g.Expect(k8sClient.Get(f.ctx, client.ObjectKeyFromObject(o), cur)).To(Succeed())
		var tmpl corev1.PodTemplateSpec
		switch w := cur.(type) {
		case *appsv1.Deployment:
			tmpl = w.Spec.Template
		case *appsv1.StatefulSet:
			tmpl = w.Spec.Template
		case *appsv1.DaemonSet:
			tmpl = w.Spec.Template
		}
		annotations = append(annotations, tmpl.Annotations[CredentialFingerprintAnnotation])
		versions = append(versions, cur.GetResourceVersion())
	}
	return annotations, versions
}

// requestSync sets the operator's sync-request annotation (or Flux's) to a new value with a
// merge patch, as `kubectl annotate` does. (An Update of the typed object would also
// rewrite spec.refreshInterval from "1h" to "1h0m0s", a spec change of its own.)
func (f *fixture) requestSync(annotation string) string {
	f.t.Helper()
	value := time.Now().Format(time.RFC3339Nano)
	f.annotate(f.obj.Name, annotation, value)
	return value
}

// annotate sets one annotation on an XpanderDatabase with a merge patch.
func (f *fixture) annotate(name, key, value string) {
	f.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	obj := &databasev1alpha1.XpanderDatabase{}
	obj.Namespace, obj.Name = f.namespace, name
	f.g.Expect(k8sClient.Patch(f.ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// rotate makes the stand-in hand out a new password for the fixture's key.
func (f *fixture) rotate(password string) string {
	uri := testURI(password)
	usedSecrets.add(password, uri)
	standin.SetDatabase(f.apiKey, xpandertest.NewDatabase("still-meadow-47437464", "f47ac10b-58cc-4372-a567-0e02b2c3d479", uri))
	return uri
}

// secretWrites counts the updates to an existing Secret while fn runs and until the Secret
// has been quiet for a moment. (A watch opens with an ADDED event for the Secret as it is.)
func (f *fixture) secretWrites(name string, fn func()) int {
	f.t.Helper()
	w, err := watchClient.Watch(f.ctx, &corev1.SecretList{}, client.InNamespace(f.namespace),
		client.MatchingFields{"metadata.name": name})
	f.g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()
	fn()
	writes := 0
	for {
		select {
		case e := <-w.ResultChan():
			if e.Type == watch.Modified {
				writes++
			}
		case <-time.After(2 * time.Second):
			return writes
		}
	}
}

func TestARotationWritesTheSecretOnceAndRestartsEachTargetOnce(t *testing.T) {
	f := newFixture(t)
	targets := f.workloads()
	f.create()
	first := f.waitReady()
	g := f.g

	annotations, _ := f.templateState(targets)
	g.Expect(annotations).To(Equal([]string{"", "", ""}), "the first sync is not a rotation")
	g.Expect(first.Status.CredentialFingerprint).To(HavePrefix("sha256:"))
	g.Expect(first.Status.CredentialFingerprint).NotTo(ContainSubstring(f.password))
	g.Expect(first.Status.LastRotationTime).To(BeNil())
	g.Expect(f.secret("db").Annotations).To(HaveKeyWithValue(CredentialFingerprintAnnotation, first.Status.CredentialFingerprint))

	newURI := f.rotate("n3w/p@ss%+word")
	writes := f.secretWrites("db", func() {
		f.requestSync(SyncRequestAnnotation)
		g.Eventually(func() string { return string(f.secret("db").Data[URIKey]) }).Should(Equal(newURI))
	})
	g.Expect(writes).To(Equal(1), "a rotation is one write to the Secret")

	var rotated *databasev1alpha1.XpanderDatabase
	g.Eventually(func(g Gomega) {
		rotated = f.current()
		g.Expect(rotated.Status.LastRotationTime).NotTo(BeNil())
	}).Should(Succeed())
	g.Expect(rotated.Status.CredentialFingerprint).NotTo(Equal(first.Status.CredentialFingerprint))
	g.Expect(f.secret("db").Annotations).To(HaveKeyWithValue(CredentialFingerprintAnnotation, rotated.Status.CredentialFingerprint))
	g.Eventually(f.eventReasons).Should(ContainElement(databasev1alpha1.RotatedReason))

	annotations, versions := f.templateState(targets)
	fp := rotated.Status.CredentialFingerprint
	g.Expect(annotations).To(Equal([]string{fp, fp, fp}), "every target's pod template carries the new fingerprint")
	c := findCondition(rotated, databasev1alpha1.WorkloadsRestartedCondition)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(c.Message).To(Equal("restarted Deployment/api, StatefulSet/worker, DaemonSet/agent"))

	// A sync that finds the same credential leaves the Secret and the workloads alone.
	secretBefore := f.secret("db").ResourceVersion
	request := f.requestSync(FluxSyncRequestAnnotation)
	g.Eventually(func() string { return f.current().Status.LastHandledSyncRequest }).Should(ContainSubstring(request))
	_, after := f.templateState(targets)
	g.Expect(after).To(Equal(versions), "no second restart for the same credential")
	g.Expect(f.secret("db").ResourceVersion).To(Equal(secretBefore))
	g.Expect(countReason(f.eventReasons(), databasev1alpha1.RotatedReason)).To(Equal(1))
}

func TestAMissingTargetIsReportedWithoutHoldingUpTheSecret(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.RolloutRestartTargets = []databasev1alpha1.RolloutRestartTarget{{Kind: "Deployment", Name: "gone"}}
	f.create()
	f.waitReady()

	newURI := f.rotate("second/pass")
	f.requestSync(SyncRequestAnnotation)
	g := f.g
	g.Eventually(func() string { return string(f.secret("db").Data[URIKey]) }).Should(Equal(newURI))
	g.Eventually(func(g Gomega) {
		c := findCondition(f.current(), databasev1alpha1.WorkloadsRestartedCondition)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(databasev1alpha1.RestartFailedReason))
		g.Expect(c.Message).To(Equal("could not restart Deployment/gone: not found"))
	}).Should(Succeed())
	g.Expect(ready(f.current()).Status).To(Equal(metav1.ConditionTrue), "a failed restart does not make the Secret unready")
	g.Eventually(f.eventReasons).Should(ContainElement(databasev1alpha1.RestartFailedReason))
}

func TestRestartOnFirstSyncRestartsAfterTheFirstSync(t *testing.T) {
	f := newFixture(t)
	targets := f.workloads()
	f.obj.Spec.RestartOnFirstSync = true
	f.create()
	obj := f.waitReady()
	fp := obj.Status.CredentialFingerprint
	f.g.Eventually(func() []string { a, _ := f.templateState(targets); return a }).Should(Equal([]string{fp, fp, fp}))
}

func TestSyncRequestAnnotationsSyncAtOnce(t *testing.T) {
	for _, annotation := range []string{SyncRequestAnnotation, FluxSyncRequestAnnotation} {
		t.Run(annotation+" makes the operator ask the API again", func(t *testing.T) {
			f := newFixture(t)
			f.create()
			f.waitReady()
			value := f.requestSync(annotation)
			f.g.Eventually(func() int { return standin.Calls(f.apiKey) }).Should(Equal(2))
			f.g.Eventually(func() string { return f.current().Status.LastHandledSyncRequest }).Should(Equal(value))
			f.g.Consistently(func() int { return standin.Calls(f.apiKey) }, time.Second).Should(Equal(2),
				"a handled request is not handled again")
		})
	}
}

func TestSuspendPausesSyncing(t *testing.T) {
	f := newFixture(t)
	f.create()
	first := f.waitReady()
	g := f.g

	obj := f.current()
	obj.Spec.Suspend = true
	g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())
	g.Eventually(func() bool { o := f.current(); return o.Status.ObservedGeneration == o.Generation }).Should(BeTrue(),
		"the operator acknowledges the suspension, so that kstatus readers do not wait on it")
	g.Expect(kstatus(t, f.current())).To(Equal(status.CurrentStatus))
	testClock.Advance(first.Status.NextSyncTime.Sub(testClock.Now()) + time.Second)
	f.requestSync(SyncRequestAnnotation)
	f.g.Expect(k8sClient.Delete(f.ctx, f.secret("db"))).To(Succeed())
	g.Consistently(func() int { return standin.Calls(f.apiKey) }, 2*time.Second).Should(Equal(1),
		"nothing is synced while suspended, not even a deleted Secret")

	obj = f.current()
	obj.Spec.Suspend = false
	g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())
	f.waitReady()
	g.Eventually(func() error { return k8sClient.Get(f.ctx, f.key("db"), &corev1.Secret{}) }).Should(Succeed())
	g.Expect(standin.Calls(f.apiKey)).To(Equal(2))
}

func TestACronScheduleSetsTheNextSync(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.Schedule = "0 3 * * *"
	f.obj.Spec.TimeZone = "Europe/Berlin"
	f.create()
	obj := f.waitReady()

	berlin, err := time.LoadLocation("Europe/Berlin")
	f.g.Expect(err).NotTo(HaveOccurred())
	last := obj.Status.LastSyncTime.Time.In(berlin)
	want := time.Date(last.Year(), last.Month(), last.Day(), 3, 0, 0, 0, berlin)
	if !want.After(last) {
		want = want.AddDate(0, 0, 1)
	}
	want = want.Add(schedule.Jitter(obj.UID, schedule.MaxCronJitter))
	f.g.Expect(obj.Status.NextSyncTime.Time.Equal(want)).To(BeTrue(), "next sync %s, want %s", obj.Status.NextSyncTime, want)
}

func TestAnUnknownTimeZoneStallsWithInvalidSchedule(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.Schedule = "0 3 * * *"
	f.obj.Spec.TimeZone = "Mars/Olympus_Mons"
	f.create()
	obj := f.waitReason(databasev1alpha1.InvalidScheduleReason)
	f.g.Expect(ready(obj).Message).To(ContainSubstring(`spec.timeZone "Mars/Olympus_Mons" is not a known IANA time zone`))
	f.g.Expect(standin.Calls(f.apiKey)).To(BeZero())
}

func TestARestartedOperatorKeepsTheSchedule(t *testing.T) {
	f := newFixture(t)
	f.create()
	obj := f.waitReady()

	// A new reconciler has none of the first one's memory, as after an operator restart.
	fresh := &XpanderDatabaseReconciler{
		Client: k8sClient, APIReader: k8sClient, SecretMetadata: k8sClient,
		Xpander: unreachableAPI{t}, Clock: testClock,
	}
	res, err := fresh.Reconcile(f.ctx, ctrl.Request{NamespacedName: f.key("db")})
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(res.RequeueAfter).To(BeNumerically("~", obj.Status.NextSyncTime.Sub(testClock.Now()), 2*time.Second))
	f.g.Expect(standin.Calls(f.apiKey)).To(Equal(1))
}

// unreachableAPI fails the test if the reconciler calls the API.
type unreachableAPI struct{ t *testing.T }

func (u unreachableAPI) GetDatabase(context.Context, string, time.Duration) (*xpander.Database, error) {
	u.t.Error("the xpander API was called for an object whose next sync is in the future")
	return nil, fmt.Errorf("unexpected call")
}

func TestTheCRDRejectsBadSchedules(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		mutate func(*databasev1alpha1.XpanderDatabase)
		want   string
	}{
		{"a time zone without a schedule", func(o *databasev1alpha1.XpanderDatabase) { o.Spec.TimeZone = "UTC" }, "spec.timeZone is only valid with spec.schedule"},
		{"a six-field schedule", func(o *databasev1alpha1.XpanderDatabase) { o.Spec.Schedule = "0 0 3 * * *" }, "spec.schedule"},
		{"an unknown target kind", func(o *databasev1alpha1.XpanderDatabase) {
			o.Spec.RolloutRestartTargets = []databasev1alpha1.RolloutRestartTarget{{Kind: "CronJob", Name: "x"}}
		}, "spec.rolloutRestartTargets[0].kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := f.obj.DeepCopy()
			tc.mutate(obj)
			NewWithT(t).Expect(k8sClient.Create(f.ctx, obj)).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

// TestManyObjectsSharingAnIntervalSpreadTheirCalls creates 100 objects, each with its own
// organization's key, all with a one-minute interval; lets the interval pass; and records
// when the stand-in receives the refresh calls: the per-object jitter spreads them over
// several seconds instead of one burst.
func TestManyObjectsSharingAnIntervalSpreadTheirCalls(t *testing.T) {
	const n = 100
	f := newFixture(t)
	g := f.g
	keys := map[string]bool{}
	for i := range n {
		key := fmt.Sprintf("%s-org-%03d", f.apiKey, i)
		keys[key] = true
		usedSecrets.add(key)
		standin.SetDatabase(key, xpandertest.NewDatabase(fmt.Sprintf("db-%03d", i), "f47ac10b-58cc-4372-a567-0e02b2c3d479", f.uri))
		f.createKeySecret(fmt.Sprintf("key-%03d", i), "api-key", key)
		obj := f.obj.DeepCopy()
		obj.Name = fmt.Sprintf("db-%03d", i)
		obj.Spec.APIKeySecretRef.Name = fmt.Sprintf("key-%03d", i)
		obj.Spec.RefreshInterval = &metav1.Duration{Duration: time.Minute}
		g.Expect(k8sClient.Create(f.ctx, obj)).To(Succeed())
	}
	calls := func(after time.Time) []time.Time {
		var out []time.Time
		for _, c := range standin.CallLog() {
			if keys[c.APIKey] && c.Time.After(after) {
				out = append(out, c.Time)
			}
		}
		return out
	}
	g.Eventually(func() int { return len(calls(time.Time{})) }, time.Minute).Should(Equal(n))

	// Each object's own jitter, as status shows it: nextSyncTime - lastSyncTime - interval.
	jitters := map[time.Duration]int{}
	g.Eventually(func(g Gomega) {
		clear(jitters)
		list := &databasev1alpha1.XpanderDatabaseList{}
		g.Expect(k8sClient.List(f.ctx, list, client.InNamespace(f.namespace))).To(Succeed())
		for _, o := range list.Items {
			g.Expect(o.Status.NextSyncTime).NotTo(BeNil())
			jitters[o.Status.NextSyncTime.Sub(o.Status.LastSyncTime.Time)-time.Minute]++
		}
		g.Expect(len(list.Items)).To(Equal(n))
	}).Should(Succeed())
	for j := time.Duration(0); j < 6*time.Second; j += time.Second {
		t.Logf("objects whose next sync carries %s of jitter: %3d", j, jitters[j])
		g.Expect(jitters[j]).To(BeNumerically(">", 0), "every second of the 6s bound is used")
	}
	g.Expect(len(jitters)).To(Equal(6), "no jitter outside [0s, 6s)")

	// Let the interval pass, then hand every object a reconcile: each is due at its own
	// jittered time, and waits for it.
	testClock.Advance(time.Minute)
	start := time.Now()
	for i := range n {
		f.annotate(fmt.Sprintf("db-%03d", i), "test.xpander.ai/poke", "1")
	}
	g.Eventually(func() int { return len(calls(start)) }, time.Minute).Should(Equal(n))

	perSecond := map[int]int{}
	offsets := []time.Duration{}
	for _, c := range calls(start) {
		d := c.Sub(start)
		offsets = append(offsets, d)
		perSecond[int(d/time.Second)]++
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	seconds := make([]int, 0, len(perSecond))
	for s := range perSecond {
		seconds = append(seconds, s)
	}
	sort.Ints(seconds)
	for _, s := range seconds {
		t.Logf("refresh calls %2ds-%2ds after the interval passed: %3d", s, s+1, perSecond[s])
	}
	// The call times are logged, not asserted: they also carry how long creating the
	// objects took and how busy the machine is. The jitter above is what spreads them.
	t.Logf("first call +%s, last call +%s", offsets[0].Round(time.Millisecond), offsets[len(offsets)-1].Round(time.Millisecond))
}

func TestObjectsSharingAKeyShareTheAPICall(t *testing.T) {
	const n = 20
	f := newFixture(t)
	g := f.g
	for i := range n {
		obj := f.obj.DeepCopy()
		obj.Name = fmt.Sprintf("shared-%02d", i)
		g.Expect(k8sClient.Create(f.ctx, obj)).To(Succeed())
	}
	g.Eventually(func() int {
		list := &databasev1alpha1.XpanderDatabaseList{}
		g.Expect(k8sClient.List(f.ctx, list, client.InNamespace(f.namespace))).To(Succeed())
		readyCount := 0
		for i := range list.Items {
			if ready(&list.Items[i]).Status == metav1.ConditionTrue {
				readyCount++
			}
		}
		return readyCount
	}).Should(Equal(n))
	g.Expect(standin.Calls(f.apiKey)).To(Equal(1), "%d objects with one key cost one call", n)

	// A requested sync does not take the shared answer: it asks the API.
	f.obj.Name = "shared-07"
	f.requestSync(SyncRequestAnnotation)
	g.Eventually(func() int { return standin.Calls(f.apiKey) }).Should(Equal(2))
}

func findCondition(obj *databasev1alpha1.XpanderDatabase, typ string) metav1.Condition {
	for _, c := range obj.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func countReason(reasons []string, reason string) int {
	n := 0
	for _, r := range reasons {
		if r == reason {
			n++
		}
	}
	return n
}
