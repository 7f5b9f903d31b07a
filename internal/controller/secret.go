package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connsecret"
	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
)

const (
	// ManagedByLabel marks the Secrets this operator writes. Its cache holds only Secrets
	// with this label, so the operator does not keep every Secret of the cluster in memory.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is ManagedByLabel's value.
	ManagedByValue = "xpander-db-operator"
	// OwnerLabel names the XpanderDatabase a managed Secret belongs to, for `kubectl get -l`.
	OwnerLabel = "database.xpander.ai/xpanderdatabase"
	// FingerprintAnnotation holds a SHA-256 over the managed Secret's data. It changes exactly
	// when the data does, so a pod template can carry it to roll on rotation, and the
	// operator can tell a hand-edited Secret from its own without asking the xpander API.
	FingerprintAnnotation = "database.xpander.ai/fingerprint"

	// CredentialFingerprintAnnotation carries status.credentialFingerprint on the managed
	// Secret, and on the pod templates of rolloutRestartTargets after a rotation.
	CredentialFingerprintAnnotation = "database.xpander.ai/credential-fingerprint"

	// URIKey is the managed Secret's entry holding the connection URI exactly as received.
	URIKey = connsecret.KeyURI
)

// secretData parses the API's connection URI as libpq would and builds the managed Secret's
// data in the object's shape.
func secretData(db *xpander.Database, shape *connsecret.Shape) (map[string][]byte, error) {
	conn, err := connstring.Parse(db.ConnectionURI)
	if err != nil {
		return nil, uriFailure(err)
	}
	data, err := shape.Data(db.ConnectionURI, conn)
	if err != nil {
		return nil, fail(databasev1alpha1.InvalidSecretTemplateReason, needsUser, "%w", err)
	}
	return data, nil
}

// fingerprint hashes data in key order, each key and value length-prefixed so that no two
// different maps hash alike.
func fingerprint(data map[string][]byte) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		writeField(h, []byte(k))
		writeField(h, data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func writeField(h interface{ Write([]byte) (int, error) }, b []byte) {
	n := len(b)
	_, _ = h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	_, _ = h.Write(b)
}

// credentialFingerprint fingerprints a connection URI for status and annotations: a SHA-256
// salted with the object's UID, so that equal credentials of different objects do not
// look alike and the value cannot be looked up in a table of hashed passwords.
func credentialFingerprint(obj *databasev1alpha1.XpanderDatabase, uri string) string {
	h := sha256.New()
	writeField(h, []byte("xpander-db-operator credential v1"))
	writeField(h, []byte(obj.UID))
	writeField(h, []byte(uri))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// intact reports whether a managed Secret still holds what the operator last wrote into it.
func intact(s *corev1.Secret) bool {
	return s.Annotations[FingerprintAnnotation] == fingerprint(s.Data) &&
		s.Labels[ManagedByLabel] == ManagedByValue
}

// desiredSecret applies the operator's part of a managed Secret onto s: data, type, the
// template's labels and annotations, the operator's own labels and the fingerprint. Labels
// and annotations others added are kept. It reports whether anything changed. The type is
// set only on a new Secret; Kubernetes does not let it change.
func desiredSecret(s *corev1.Secret, obj *databasev1alpha1.XpanderDatabase, shape *connsecret.Shape, data map[string][]byte, credential string) bool {
	changed := false
	set := func(m *map[string]string, k, v string) {
		if *m == nil {
			*m = map[string]string{}
		}
		if (*m)[k] != v {
			(*m)[k] = v
			changed = true
		}
	}
	for k, v := range shape.Labels {
		set(&s.Labels, k, v)
	}
	for k, v := range shape.Annotations {
		set(&s.Annotations, k, v)
	}
	set(&s.Labels, ManagedByLabel, ManagedByValue)
	if len(validation.IsValidLabelValue(obj.Name)) == 0 {
		set(&s.Labels, OwnerLabel, obj.Name) // names longer than 63 characters cannot be label values
	}
	set(&s.Annotations, FingerprintAnnotation, fingerprint(data))
	set(&s.Annotations, CredentialFingerprintAnnotation, credential)
	if s.Type == "" {
		s.Type = shape.Type
		changed = true
	}
	if !maps.EqualFunc(s.Data, data, func(a, b []byte) bool { return string(a) == string(b) }) {
		s.Data = data
		changed = true
	}
	if len(s.StringData) > 0 {
		s.StringData = nil
		changed = true
	}
	return changed
}
