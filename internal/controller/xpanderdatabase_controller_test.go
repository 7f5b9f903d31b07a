package controller

import (
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/schedule"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander/xpandertest"
)

func TestCreatingAnXpanderDatabaseWritesTheManagedSecret(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.SecretName = "app-db"
	f.create()

	obj := f.waitReady()
	g := f.g

	s := f.secret("app-db")
	g.Expect(s.Type).To(Equal(corev1.SecretTypeOpaque))
	g.Expect(string(s.Data[URIKey])).To(Equal(f.uri), "the URI is kept exactly as the API sent it")
	g.Expect(s.Labels).To(HaveKeyWithValue(ManagedByLabel, ManagedByValue))
	g.Expect(s.Labels).To(HaveKeyWithValue(OwnerLabel, "db"))
	g.Expect(s.Annotations).To(HaveKeyWithValue(FingerprintAnnotation, fingerprint(s.Data)))
	g.Expect(s.OwnerReferences).To(HaveLen(1))
	owner := s.OwnerReferences[0]
	g.Expect(owner.Kind).To(Equal("XpanderDatabase"))
	g.Expect(owner.UID).To(Equal(obj.UID))
	g.Expect(owner.Controller).To(HaveValue(BeTrue()))

	g.Expect(obj.Status.SecretName).To(Equal("app-db"))
	g.Expect(obj.Status.Database).To(Equal(&databasev1alpha1.DatabaseInfo{
		ID:             "still-meadow-47437464",
		Name:           "org_f47ac10b-58cc-4372-a567-0e02b2c3d479",
		OrganizationID: "f47ac10b-58cc-4372-a567-0e02b2c3d479",
	}))
	g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
	g.Expect(obj.Status.LastSyncTime).NotTo(BeNil())
	g.Expect(obj.Status.NextSyncTime.Sub(obj.Status.LastSyncTime.Time)).To(Equal(time.Hour+schedule.Jitter(obj.UID, 5*time.Minute)),
		"the default refresh interval is one hour, plus the object's own jitter")
	g.Expect(ready(obj).Reason).To(Equal(databasev1alpha1.SyncedReason))
	g.Expect(kstatus(t, obj)).To(Equal(status.CurrentStatus))
	g.Consistently(f.eventReasons, time.Second).ShouldNot(ContainElement(databasev1alpha1.SyncedReason),
		"a first sync is told by Ready, not by an event")
	g.Expect(standin.Calls(f.apiKey)).To(Equal(1), "one sync, one API call")
}

func TestTheSecretNameDefaultsToTheObjectName(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	f.g.Expect(string(f.secret("db").Data[URIKey])).To(Equal(f.uri))
}

func TestAnUpstreamChangeReachesTheSecretAfterTheRefreshInterval(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.RefreshInterval = &metav1.Duration{Duration: 10 * time.Minute}
	f.create()
	first := f.waitReady()
	g := f.g
	g.Expect(first.Status.NextSyncTime.Sub(first.Status.LastSyncTime.Time)).To(Equal(10*time.Minute + schedule.Jitter(first.UID, time.Minute)))

	rotated := testURI("rotated/P@ss%+2")
	usedSecrets.add(rotated, "rotated/P@ss%+2")
	standin.SetDatabase(f.apiKey, xpandertest.NewDatabase("still-meadow-47437464", "f47ac10b-58cc-4372-a567-0e02b2c3d479", rotated))

	// Before the interval is up, events on the Secret do not make the operator ask again.
	f.touch("db")
	g.Consistently(func() string { return string(f.secret("db").Data[URIKey]) }, 2*time.Second).Should(Equal(f.uri))
	g.Expect(standin.Calls(f.apiKey)).To(Equal(1))

	testClock.Advance(first.Status.NextSyncTime.Sub(testClock.Now()) + time.Second)
	f.touch("db")
	g.Eventually(func() string { return string(f.secret("db").Data[URIKey]) }).Should(Equal(rotated))
	// The Secret is written before the status that records the sync.
	g.Eventually(func() bool {
		return f.current().Status.LastSyncTime.After(first.Status.LastSyncTime.Time)
	}).Should(BeTrue())
	f.waitReady()
	g.Expect(standin.Calls(f.apiKey)).To(Equal(2))
}

func TestAnUnchangedRefreshDoesNotWriteTheSecret(t *testing.T) {
	f := newFixture(t)
	f.create()
	first := f.waitReady()
	before := f.secret("db")

	testClock.Advance(first.Status.NextSyncTime.Sub(testClock.Now()) + time.Second)
	f.touch("db")
	touched := f.secret("db").ResourceVersion

	g := f.g
	g.Eventually(func() bool {
		return f.current().Status.LastSyncTime.After(first.Status.LastSyncTime.Time)
	}).Should(BeTrue(), "the refresh happened")
	after := f.secret("db")
	g.Expect(after.ResourceVersion).To(Equal(touched), "the operator did not write the Secret")
	g.Expect(after.Data).To(Equal(before.Data))
	g.Expect(standin.Calls(f.apiKey)).To(Equal(2))
}

func TestChangingTheKeySecretSyncsAtOnce(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()

	otherKey := f.apiKey + "-other"
	otherURI := testURI("other-org/pw")
	usedSecrets.add(otherKey, otherURI)
	standin.SetDatabase(otherKey, xpandertest.NewDatabase("calm-river-1", "0b7e5c5e-1111-4c2e-9c1d-3a6f4f0a9d10", otherURI))
	f.setKeySecret("xpander-api-key", map[string][]byte{"api-key": []byte(otherKey)})

	g := f.g
	g.Eventually(func() string { return string(f.secret("db").Data[URIKey]) }).Should(Equal(otherURI))
	obj := f.waitReady()
	g.Expect(obj.Status.Database.ID).To(Equal("calm-river-1"))
	g.Expect(standin.Calls(otherKey)).To(Equal(1))
}

func TestAKeyWithATrailingNewlineIsTrimmed(t *testing.T) {
	f := newFixture(t)
	f.setKeySecret("xpander-api-key", map[string][]byte{"api-key": []byte(f.apiKey + "\n")})
	f.create()
	f.waitReady()
	f.g.Expect(string(f.secret("db").Data[URIKey])).To(Equal(f.uri))
}

func TestACustomKeyEntryIsRead(t *testing.T) {
	f := newFixture(t)
	f.createKeySecret("custom", "token", f.apiKey)
	f.obj.Spec.APIKeySecretRef = databasev1alpha1.APIKeySecretReference{Name: "custom", Key: "token"}
	f.create()
	f.waitReady()
}

func TestADeletedSecretIsRecreated(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	old := f.secret("db")
	f.g.Expect(k8sClient.Delete(f.ctx, old)).To(Succeed())

	f.g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(k8sClient.Get(f.ctx, f.key("db"), s)).To(Succeed())
		g.Expect(s.UID).NotTo(Equal(old.UID))
		g.Expect(string(s.Data[URIKey])).To(Equal(f.uri))
	}).Should(Succeed())
}

func TestAHandEditedSecretIsRestored(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()

	s := f.secret("db")
	want := s.Data
	edited := s.DeepCopy()
	edited.Data[URIKey] = []byte("postgresql://someone:else@elsewhere/db")
	edited.Data["extra"] = []byte("x")
	f.g.Expect(k8sClient.Update(f.ctx, edited)).To(Succeed())

	f.g.Eventually(func() map[string][]byte { return f.secret("db").Data }).Should(Equal(want))
}

func TestAForeignSecretIsNeverTouched(t *testing.T) {
	f := newFixture(t)
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "db", Labels: map[string]string{"team": "payments"}},
		Data:       map[string][]byte{"uri": []byte("theirs")},
	}
	f.g.Expect(k8sClient.Create(f.ctx, foreign)).To(Succeed())
	f.create()

	obj := f.waitReason(databasev1alpha1.SecretConflictReason)
	g := f.g
	g.Expect(ready(obj).Message).To(ContainSubstring("Secret db exists and is not owned by this XpanderDatabase"))
	g.Expect(kstatus(t, obj)).To(Equal(status.FailedStatus), "a conflict needs a person: kstatus reports it Failed")
	after := f.secret("db")
	g.Expect(after.ResourceVersion).To(Equal(foreign.ResourceVersion))
	g.Expect(after.Data).To(Equal(foreign.Data))
	g.Expect(after.OwnerReferences).To(BeEmpty())
	g.Expect(standin.Calls(f.apiKey)).To(Equal(0), "no point asking the API for a Secret it cannot write")
	g.Eventually(f.eventReasons).Should(ContainElement(databasev1alpha1.SecretConflictReason))

	// Once the foreign Secret is gone, the operator takes the name.
	g.Expect(k8sClient.Delete(f.ctx, after)).To(Succeed())
	f.waitReady()
	g.Expect(string(f.secret("db").Data[URIKey])).To(Equal(f.uri))
}

func TestTwoObjectsNamingOneSecretLetTheFirstWin(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()

	second := &databasev1alpha1.XpanderDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "second"},
		Spec: databasev1alpha1.XpanderDatabaseSpec{
			APIKeySecretRef: databasev1alpha1.APIKeySecretReference{Name: "xpander-api-key"},
			SecretName:      "db",
		},
	}
	f.g.Expect(k8sClient.Create(f.ctx, second)).To(Succeed())
	f.obj = second
	f.waitReason(databasev1alpha1.SecretConflictReason)
	f.g.Expect(f.secret("db").OwnerReferences[0].Name).To(Equal("db"))
}

func TestRenamingTheSecretMovesTheConnection(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()

	obj := f.current()
	obj.Spec.SecretName = "renamed"
	f.g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())

	f.g.Eventually(func(g Gomega) {
		g.Expect(f.current().Status.SecretName).To(Equal("renamed"))
		err := k8sClient.Get(f.ctx, f.key("db"), &corev1.Secret{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Secret under the old name is removed")
	}).Should(Succeed())
	f.g.Expect(string(f.secret("renamed").Data[URIKey])).To(Equal(f.uri))
}

// TestBadInputKeepsTheLastGoodSecret runs each kind of bad input against an object that
// has synced once, and checks the condition it reports and that its Secret is untouched.
func TestBadInputKeepsTheLastGoodSecret(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(f *fixture)
		reason  string
		message string
		stalled bool
	}{
		{
			name:    "a missing key Secret stalls with APIKeySecretNotFound",
			breakIt: func(f *fixture) { f.g.Expect(k8sClient.Delete(f.ctx, f.secret("xpander-api-key"))).To(Succeed()) },
			reason:  databasev1alpha1.APIKeySecretNotFoundReason,
			message: "API key Secret xpander-api-key not found",
			stalled: true,
		},
		{
			name: "a key Secret without the entry stalls with APIKeyNotFound",
			breakIt: func(f *fixture) {
				f.setKeySecret("xpander-api-key", map[string][]byte{"apikey": []byte(f.apiKey)})
			},
			reason:  databasev1alpha1.APIKeyNotFoundReason,
			message: `API key Secret xpander-api-key has no entry "api-key"`,
			stalled: true,
		},
		{
			name: "an empty key stalls with APIKeyEmpty",
			breakIt: func(f *fixture) {
				f.setKeySecret("xpander-api-key", map[string][]byte{"api-key": []byte(" \n")})
			},
			reason:  databasev1alpha1.APIKeyEmptyReason,
			message: `API key Secret xpander-api-key has an empty entry "api-key"`,
			stalled: true,
		},
		{
			name:    "a revoked key (401) stalls with Unauthorized",
			breakIt: func(f *fixture) { f.answer(http.StatusUnauthorized, `{"detail":"Invalid API key"}`) },
			reason:  databasev1alpha1.UnauthorizedReason,
			message: "xpander API refused the API key (HTTP 401)",
			stalled: true,
		},
		{
			name:    "a forbidden key (403) stalls with Unauthorized",
			breakIt: func(f *fixture) { f.answer(http.StatusForbidden, `{"detail":"Forbidden"}`) },
			reason:  databasev1alpha1.UnauthorizedReason,
			message: "xpander API refused the API key (HTTP 403)",
			stalled: true,
		},
		{
			name:    "a server error (503) is retried with APIServerError",
			breakIt: func(f *fixture) { f.answer(http.StatusServiceUnavailable, `upstream down`) },
			reason:  databasev1alpha1.APIServerErrorReason,
			message: "xpander API answered HTTP 503",
		},
		{
			name:    "an answer that is not JSON is retried with MalformedResponse",
			breakIt: func(f *fixture) { f.answer(http.StatusOK, `<html>`+f.password+`</html>`) },
			reason:  databasev1alpha1.MalformedResponseReason,
			message: "xpander API answer is malformed",
		},
		{
			name: "a null connection_uri says the database is not available yet",
			breakIt: func(f *fixture) {
				f.answer(http.StatusOK, `{"id":"still-meadow-47437464","name":"org_x","organization_id":null,"connection_uri":null}`)
			},
			reason:  databasev1alpha1.ConnectionURIUnavailableReason,
			message: "no connection URI for this organization yet",
		},
		{
			name: "a URI that is not postgres is rejected with InvalidConnectionURI",
			breakIt: func(f *fixture) {
				f.answer(http.StatusOK, `{"id":"a","name":"org_x","organization_id":"x","connection_uri":{"uri":"mysql://u:`+f.password+`@h/db"}}`)
			},
			reason:  databasev1alpha1.InvalidConnectionURIReason,
			message: "the URI does not start with postgresql:// or postgres://",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.create()
			f.waitReady()
			good := f.secret("db")

			tc.breakIt(f)
			f.requestSync(SyncRequestAnnotation) // a requested sync asks the API at once, whatever broke
			obj := f.waitReason(tc.reason)

			g := f.g
			c := ready(obj)
			g.Expect(c.Message).To(ContainSubstring(tc.message))
			for _, secret := range []string{f.apiKey, f.password, f.uri} {
				g.Expect(c.Message).NotTo(ContainSubstring(secret))
			}
			want := status.InProgressStatus
			if tc.stalled {
				want = status.FailedStatus
			}
			g.Expect(kstatus(t, obj)).To(Equal(want))
			g.Eventually(f.eventReasons).Should(ContainElement(tc.reason))

			after := f.secret("db")
			g.Expect(after.ResourceVersion).To(Equal(good.ResourceVersion), "the last good Secret is kept")
			g.Expect(after.Data).To(Equal(good.Data))
			g.Expect(obj.Status.LastSyncTime).NotTo(BeNil(), "the last successful sync stays visible")
		})
	}
}

// answer makes the stand-in give every call with the fixture's key this raw answer.
func (f *fixture) answer(status int, body string) {
	standin.SetResponse(f.apiKey, xpandertest.Response{
		Status: status,
		Header: http.Header{"Content-Type": {contentType(body)}},
		Body:   body,
	})
}

func contentType(body string) string {
	if strings.HasPrefix(body, "{") {
		return "application/json"
	}
	return "text/html"
}

func TestAMissingKeySecretOnCreationReportsIt(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.APIKeySecretRef.Name = "not-there"
	f.create()
	obj := f.waitReason(databasev1alpha1.APIKeySecretNotFoundReason)
	f.g.Expect(kstatus(t, obj)).To(Equal(status.FailedStatus))
	err := k8sClient.Get(f.ctx, f.key("db"), &corev1.Secret{})
	f.g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no Secret is written without a connection")

	// Creating the key Secret later is enough: the operator watches for it.
	f.createKeySecret("not-there", "api-key", f.apiKey)
	f.waitReady()
}

func TestTheCRDRejectsBadSpecs(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		mutate func(*databasev1alpha1.XpanderDatabase)
		want   string
	}{
		{
			name: "a refresh interval under a minute is refused",
			mutate: func(o *databasev1alpha1.XpanderDatabase) {
				o.Spec.RefreshInterval = &metav1.Duration{Duration: 30 * time.Second}
			},
			want: "refreshInterval must be at least 1m",
		},
		{
			name: "the key Secret cannot be the managed Secret",
			mutate: func(o *databasev1alpha1.XpanderDatabase) {
				o.Spec.SecretName = o.Spec.APIKeySecretRef.Name
			},
			want: "must not be the Secret that holds the API key",
		},
		{
			name:   "a key Secret name must be a valid name",
			mutate: func(o *databasev1alpha1.XpanderDatabase) { o.Spec.APIKeySecretRef.Name = "Not_Valid" },
			want:   "spec.apiKeySecretRef.name",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := f.obj.DeepCopy()
			tc.mutate(obj)
			err := k8sClient.Create(f.ctx, obj)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestAnObjectDeletedAndCreatedAgainUnderTheSameNameSyncsAnew(t *testing.T) {
	f := newFixture(t)
	f.create()
	first := f.waitReady()
	// Delete and create again at once, before the operator has seen the deletion; the
	// Secret goes too, as the garbage collector (which envtest lacks) would take it.
	f.g.Expect(k8sClient.Delete(f.ctx, first)).To(Succeed())
	f.g.Expect(k8sClient.Delete(f.ctx, f.secret("db"))).To(Succeed())
	again := f.obj.DeepCopy()
	again.ResourceVersion, again.UID = "", ""
	f.g.Eventually(func() error { return k8sClient.Create(f.ctx, again) }).Should(Succeed())
	f.g.Eventually(func(g Gomega) {
		obj := f.current()
		g.Expect(obj.UID).NotTo(Equal(first.UID))
		g.Expect(ready(obj).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(obj.Status.SecretName).To(Equal("db"))
		s := &corev1.Secret{}
		g.Expect(k8sClient.Get(f.ctx, f.key("db"), s)).To(Succeed())
		g.Expect(s.OwnerReferences).To(HaveLen(1))
		g.Expect(s.OwnerReferences[0].UID).To(Equal(obj.UID))
	}).Should(Succeed())
}
