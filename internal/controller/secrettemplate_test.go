package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connsecret"
)

func TestTheSecretHoldsTheDefaultKeysForEveryConsumer(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()

	s := f.secret("db")
	g := f.g
	g.Expect(string(s.Data["DATABASE_URL"])).To(Equal(f.uri))
	g.Expect(string(s.Data["PGHOST"])).To(Equal("ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech"))
	g.Expect(string(s.Data["PGPORT"])).To(Equal("5432"))
	g.Expect(string(s.Data["PGDATABASE"])).To(Equal("xpander"))
	g.Expect(string(s.Data["PGUSER"])).To(Equal("app_user"))
	g.Expect(string(s.Data["PGPASSWORD"])).To(Equal(f.password), "the password is decoded for libpq")
	g.Expect(string(s.Data["password"])).To(Equal(f.password))
	g.Expect(string(s.Data["PGSSLMODE"])).To(Equal("require"))
	g.Expect(string(s.Data["PGCHANNELBINDING"])).To(Equal("require"))
	g.Expect(string(s.Data["jdbc-url"])).To(HavePrefix("jdbc:postgresql://ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech/xpander?user=app_user&password="))
	g.Expect(string(s.Data["pgpass"])).To(HavePrefix("ep-proud-credit-af01jccy.c-2.us-west-2.aws.neon.tech:5432:xpander:app_user:"))
}

func TestASecretTemplateShapesTheSecret(t *testing.T) {
	f := newFixture(t)
	f.obj.Labels = map[string]string{"argocd.argoproj.io/instance": "apps", "team": "payments"}
	f.obj.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	f.obj.Spec.SecretTemplate = &databasev1alpha1.SecretTemplate{
		Type:        connsecret.ServiceBindingType,
		Labels:      map[string]string{"app": "billing", ManagedByLabel: "someone-else"},
		Annotations: map[string]string{"reloader.example/match": "true"},
		Keys:        []string{"host", "port", "database", "username", "password"},
		Data:        map[string]string{"SPRING_DATASOURCE_URL": "{{ .JDBCURL }}"},
	}
	f.create()
	f.waitReady()

	s := f.secret("db")
	g := f.g
	g.Expect(s.Type).To(Equal(corev1.SecretType(connsecret.ServiceBindingType)))
	keys := []string{}
	for k := range s.Data {
		keys = append(keys, k)
	}
	g.Expect(keys).To(ConsistOf("type", "provider", "host", "port", "database", "username", "password", "SPRING_DATASOURCE_URL"))
	g.Expect(string(s.Data["type"])).To(Equal("postgresql"))
	g.Expect(string(s.Data["SPRING_DATASOURCE_URL"])).To(HavePrefix("jdbc:postgresql://"))
	g.Expect(s.Labels).To(HaveKeyWithValue("app", "billing"))
	g.Expect(s.Labels).To(HaveKeyWithValue(ManagedByLabel, ManagedByValue), "the operator's own label cannot be overridden")
	g.Expect(s.Labels).NotTo(HaveKey("argocd.argoproj.io/instance"), "the object's labels are not copied")
	g.Expect(s.Labels).NotTo(HaveKey("team"))
	g.Expect(s.Annotations).To(HaveKeyWithValue("reloader.example/match", "true"))
	g.Expect(s.Annotations).NotTo(HaveKey("kubectl.kubernetes.io/last-applied-configuration"))
}

func TestChangingTheSecretTypeReplacesTheSecret(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	old := f.secret("db")

	obj := f.current()
	obj.Spec.SecretTemplate = &databasev1alpha1.SecretTemplate{Type: connsecret.ServiceBindingType}
	f.g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())

	f.g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(k8sClient.Get(f.ctx, f.key("db"), s)).To(Succeed())
		g.Expect(s.UID).NotTo(Equal(old.UID))
		g.Expect(s.Type).To(Equal(corev1.SecretType(connsecret.ServiceBindingType)))
		g.Expect(string(s.Data["type"])).To(Equal("postgresql"))
	}).Should(Succeed())
	f.waitReady()
}

func TestAnInvalidTemplateIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	f := newFixture(t)
	f.obj.Spec.SecretTemplate = &databasev1alpha1.SecretTemplate{
		Data: map[string]string{"uri": "{{ .URI }}"},
	}
	f.create()
	obj := f.waitReason(databasev1alpha1.InvalidSecretTemplateReason)
	g := f.g
	g.Expect(ready(obj).Message).To(ContainSubstring(`key "uri" would be written twice`))
	g.Expect(kstatus(t, obj)).To(Equal(status.FailedStatus))
	g.Expect(standin.Calls(f.apiKey)).To(Equal(0), "the API is not asked for a Secret that cannot be written")
	err := k8sClient.Get(f.ctx, f.key("db"), &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
}

func TestAnInvalidTemplateOnASyncedObjectKeepsTheSecret(t *testing.T) {
	f := newFixture(t)
	f.create()
	f.waitReady()
	good := f.secret("db")

	obj := f.current()
	obj.Spec.SecretTemplate = &databasev1alpha1.SecretTemplate{
		OnlyTemplateKeys: true,
		Data:             map[string]string{"broken": "{{ .Password.Nope }}"},
	}
	f.g.Expect(k8sClient.Update(f.ctx, obj)).To(Succeed())

	obj = f.waitReason(databasev1alpha1.InvalidSecretTemplateReason)
	g := f.g
	g.Expect(ready(obj).Message).To(ContainSubstring(`data: key "broken"`))
	g.Expect(ready(obj).Message).NotTo(ContainSubstring(f.password))
	after := f.secret("db")
	g.Expect(after.ResourceVersion).To(Equal(good.ResourceVersion))
}
