package v1alpha1

// Condition types. They follow kstatus (sigs.k8s.io/cli-utils/pkg/kstatus), so Flux, Argo CD
// and `kubectl wait --for=condition=Ready` read an XpanderDatabase's health without extra
// configuration.
const (
	// ReadyCondition is True when the managed Secret holds the connection the xpander API
	// gave on the latest sync of the current spec. It summarises the other conditions.
	ReadyCondition = "Ready"

	// ReconcilingCondition is True while the operator is working towards Ready: a first
	// sync, a spec change not yet acted on, or a retry after a transient failure.
	ReconcilingCondition = "Reconciling"

	// WorkloadsRestartedCondition reports the last rotation's rollout restarts: True when
	// every rolloutRestartTargets workload was restarted, False with the failures otherwise.
	// It is absent when there are no targets. It does not affect Ready.
	WorkloadsRestartedCondition = "WorkloadsRestarted"

	// StalledCondition is True when the operator cannot go on without a person: a missing or
	// rejected API key, or a Secret name taken by a Secret the operator does not own. It is
	// retried when the referenced Secrets change, and slowly otherwise.
	StalledCondition = "Stalled"
)

// Condition reasons. The Ready condition carries one of them; events use the same words.
const (
	// SyncedReason: the managed Secret matches the API's latest answer.
	SyncedReason = "Synced"

	// RotatedReason: a sync found a new credential and wrote it (an event, and the
	// WorkloadsRestarted reason when every target was restarted).
	RotatedReason = "Rotated"

	// SuspendedReason: spec.suspend is true; nothing is synced.
	SuspendedReason = "Suspended"

	// RestartFailedReason: at least one rolloutRestartTargets workload could not be
	// restarted (missing, or the operator may not patch it).
	RestartFailedReason = "RestartFailed"

	// InvalidScheduleReason: spec.schedule or spec.timeZone cannot be read.
	InvalidScheduleReason = "InvalidSchedule"

	// ProgressingReason: a sync is due and has not finished yet.
	ProgressingReason = "Progressing"

	// RetryingReason is the Reconciling reason while a transient failure is being retried.
	RetryingReason = "Retrying"

	// APIKeySecretNotFoundReason: the Secret named by spec.apiKeySecretRef does not exist.
	APIKeySecretNotFoundReason = "APIKeySecretNotFound"

	// APIKeyNotFoundReason: the key Secret exists but has no entry spec.apiKeySecretRef.key.
	APIKeyNotFoundReason = "APIKeyNotFound"

	// APIKeyEmptyReason: the entry holding the API key is empty or only white space.
	APIKeyEmptyReason = "APIKeyEmpty"

	// UnauthorizedReason: the xpander API refused the key (HTTP 401 or 403).
	UnauthorizedReason = "Unauthorized"

	// RateLimitedReason: the xpander API answered 429; the next call waits for Retry-After.
	RateLimitedReason = "RateLimited"

	// APIServerErrorReason: the xpander API answered with a 5xx status.
	APIServerErrorReason = "APIServerError"

	// APIUnreachableReason: the xpander API could not be reached (DNS, TCP, TLS or timeout).
	APIUnreachableReason = "APIUnreachable"

	// MalformedResponseReason: the API's answer did not follow its documented schema.
	MalformedResponseReason = "MalformedResponse"

	// ConnectionURIUnavailableReason: the API answered without a connection URI; the
	// organization's database is not available yet.
	ConnectionURIUnavailableReason = "ConnectionURIUnavailable"

	// InvalidConnectionURIReason: the API's connection URI is not a postgres:// or
	// postgresql:// URI that PostgreSQL clients accept.
	InvalidConnectionURIReason = "InvalidConnectionURI"

	// InvalidSecretTemplateReason: spec.secretTemplate cannot be applied: an unknown key, a
	// rename that collides, or a template that does not parse or run. Nothing is written.
	InvalidSecretTemplateReason = "InvalidSecretTemplate"

	// SecretConflictReason: spec.secretName names a Secret that this object does not own. The
	// operator never changes it.
	SecretConflictReason = "SecretConflict"

	// KubernetesAPIErrorReason: the Kubernetes API server refused a read or a write the sync
	// needed, for example the managed Secret's update.
	KubernetesAPIErrorReason = "KubernetesAPIError"
)
