package v1alpha1

import (
	"time"
)

const (
	// DefaultAPIKeySecretKey is the Secret entry read when apiKeySecretRef.key is empty.
	DefaultAPIKeySecretKey = "api-key"

	// DefaultRefreshInterval applies when spec.refreshInterval is not set.
	DefaultRefreshInterval = time.Hour

	// MinRefreshInterval and MaxRefreshInterval bound the refreshInterval the CRD accepts.
	MinRefreshInterval = time.Minute
	MaxRefreshInterval = 8760 * time.Hour
)

// ManagedSecretName returns the name of the Secret the operator keeps for this object.
func (x *XpanderDatabase) ManagedSecretName() string {
	if x.Spec.SecretName != "" {
		return x.Spec.SecretName
	}
	return x.Name
}

// APIKeySecretKey returns the entry of the key Secret that holds the API key.
func (x *XpanderDatabase) APIKeySecretKey() string {
	if x.Spec.APIKeySecretRef.Key != "" {
		return x.Spec.APIKeySecretRef.Key
	}
	return DefaultAPIKeySecretKey
}

// RefreshInterval returns how long to wait after a successful sync. Objects that bypassed
// the CRD's validation (for example, written before it existed) are held to the same floor.
func (x *XpanderDatabase) RefreshInterval() time.Duration {
	if x.Spec.RefreshInterval == nil {
		return DefaultRefreshInterval
	}
	return min(max(x.Spec.RefreshInterval.Duration, MinRefreshInterval), MaxRefreshInterval)
}

// Deletion policies for the managed Secret.
const (
	DeletionPolicyDelete = "Delete"
	DeletionPolicyRetain = "Retain"
)

// RetainFinalizer holds an XpanderDatabase with deletionPolicy Retain until the operator has
// released its Secret.
const RetainFinalizer = "database.xpander.ai/retain-secret"
