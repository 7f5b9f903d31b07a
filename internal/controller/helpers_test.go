package controller

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

const (
	eventuallyTimeout = 20 * time.Second
	pollInterval      = 50 * time.Millisecond
)

var fixtureSeq atomic.Int64

// fixture is one test's world: a namespace, an API key the stand-in knows, its key Secret
// and an XpanderDatabase that uses it.
type fixture struct {
	t         *testing.T
	g         *WithT
	ctx       context.Context
	namespace string
	apiKey    string
	password  string
	uri       string
	obj       *databasev1alpha1.XpanderDatabase
}

// newFixture prepares a namespace, a key the stand-in answers with a fresh connection URI,
// and the key Secret; it does not create the XpanderDatabase yet.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(eventuallyTimeout)
	g.SetDefaultEventuallyPollingInterval(pollInterval)
	n := fixtureSeq.Add(1)
	f := &fixture{
		t:         t,
		g:         g,
		ctx:       context.Background(),
		namespace: newNamespace(t),
		apiKey:    fmt.Sprintf("xpk-test-key-%d-%d", n, time.Now().UnixNano()),
	}
	f.password = fmt.Sprintf("Pw-%d/@%%+secret", n)
	f.uri = testURI(f.password)
	usedSecrets.add(f.apiKey, f.password, f.uri)
	standin.SetDatabase(f.apiKey, xpandertest.NewDatabase("still-meadow-47437464", "f47ac10b-58cc-4372-a567-0e02b2c3d479", f.uri))
	f.createKeySecret("xpander-api-key", "api-key", f.apiKey)
	f.obj = &databasev1alpha1.XpanderDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "db"},
		Spec: databasev1alpha1.XpanderDatabaseSpec{
			APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: "xpander-api-key"},
		},
	}
	return f
}

// testURI returns a Neon-style connection URI with password percent-encoded, every byte
// outside the unreserved set escaped, as a URI generator should.
func testURI(password string) string {
	var enc strings.Builder
	for _, b := range []byte(password) {
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-._~", b) >= 0 {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	return "postgresql://app_user:" + enc.String() +
		"@ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/xpander?channel_binding=require&sslmode=require"
}

func (f *fixture) createKeySecret(name, entry, value string) {
	f.t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: name},
		Data:       map[string][]byte{entry: []byte(value)},
	}
	f.g.Expect(k8sClient.Create(f.ctx, s)).To(Succeed())
}

func (f *fixture) setKeySecret(name string, data map[string][]byte) {
	f.t.Helper()
	s := &corev1.Secret{}
	f.g.Expect(k8sClient.Get(f.ctx, f.key(name), s)).To(Succeed())
	s.Data = data
	f.g.Expect(k8sClient.Update(f.ctx, s)).To(Succeed())
}

func (f *fixture) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: f.namespace, Name: name}
}

func (f *fixture) create() {
	f.t.Helper()
	f.g.Expect(k8sClient.Create(f.ctx, f.obj)).To(Succeed())
}

// current re-reads the XpanderDatabase.
func (f *fixture) current() *databasev1alpha1.XpanderDatabase {
	f.t.Helper()
	obj := &databasev1alpha1.XpanderDatabase{}
	f.g.Expect(k8sClient.Get(f.ctx, client.ObjectKeyFromObject(f.obj), obj)).To(Succeed())
	return obj
}

// ready returns the Ready condition, or an empty one.
func ready(obj *databasev1alpha1.XpanderDatabase) metav1.Condition {
	if c := meta.FindStatusCondition(obj.Status.Conditions, databasev1alpha1.ReadyCondition); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// waitReady waits until Ready is True for the current generation and returns the object.
func (f *fixture) waitReady() *databasev1alpha1.XpanderDatabase {
	f.t.Helper()
	var obj *databasev1alpha1.XpanderDatabase
	f.g.Eventually(func(g Gomega) {
		obj = f.current()
		c := ready(obj)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(c.ObservedGeneration).To(Equal(obj.Generation))
	}).Should(Succeed())
	return obj
}

// waitReason waits until Ready is False with reason for the current generation.
func (f *fixture) waitReason(reason string) *databasev1alpha1.XpanderDatabase {
	f.t.Helper()
	var obj *databasev1alpha1.XpanderDatabase
	f.g.Eventually(func(g Gomega) {
		obj = f.current()
		c := ready(obj)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "message: %s", c.Message)
		g.Expect(c.ObservedGeneration).To(Equal(obj.Generation))
	}).Should(Succeed())
	return obj
}

// secret reads a Secret by name, failing the test when it does not exist.
func (f *fixture) secret(name string) *corev1.Secret {
	f.t.Helper()
	s := &corev1.Secret{}
	f.g.Expect(k8sClient.Get(f.ctx, f.key(name), s)).To(Succeed())
	return s
}

// touch makes a change that reaches the operator as a watch event on the managed Secret
// without changing anything the operator owns, so that it reconciles and decides afresh
// whether a sync is due.
func (f *fixture) touch(name string) {
	f.t.Helper()
	f.g.Eventually(func() error {
		s := &corev1.Secret{}
		if err := k8sClient.Get(f.ctx, f.key(name), s); err != nil {
			return err
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels["test.xpander.ai/touched"] = fmt.Sprint(time.Now().UnixNano())
		return k8sClient.Update(f.ctx, s)
	}).Should(Succeed())
}

// bumpSpec changes the spec (the refresh interval) so that the operator syncs at once.
func (f *fixture) bumpSpec() {
	f.t.Helper()
	f.g.Eventually(func() error {
		obj := f.current()
		d := obj.RefreshInterval() + time.Minute
		obj.Spec.RefreshInterval = &metav1.Duration{Duration: d}
		return k8sClient.Update(f.ctx, obj)
	}).Should(Succeed())
}

// kstatus computes the object's health the way Flux and Argo CD's kstatus reader do.
func kstatus(t *testing.T, obj *databasev1alpha1.XpanderDatabase) status.Status {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

// events lists the events about the fixture's object, oldest first.
func (f *fixture) events() []eventsv1.Event {
	f.t.Helper()
	list := &eventsv1.EventList{}
	f.g.Expect(k8sClient.List(f.ctx, list, client.InNamespace(f.namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "XpanderDatabase" && e.Regarding.Name == f.obj.Name {
			out = append(out, e)
		}
	}
	return out
}

// eventReasons returns the reasons of the fixture's events.
func (f *fixture) eventReasons() []string {
	var out []string
	for _, e := range f.events() {
		out = append(out, e.Reason)
	}
	return out
}
