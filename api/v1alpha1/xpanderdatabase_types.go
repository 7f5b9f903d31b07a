package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIKeySecretReference names the entry of a Secret, in the XpanderDatabase's own namespace,
// that holds an xpander.ai organization API key.
type APIKeySecretReference struct {
	// name of the Secret. It must be in the same namespace as the XpanderDatabase; Secrets in
	// other namespaces cannot be referenced.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`

	// key of the entry in the Secret's data that holds the API key. Leading and trailing
	// white space in the value is ignored, so a key file with a trailing newline (as
	// `kubectl create secret generic --from-file` stores it) works as it is.
	// +kubebuilder:default=api-key
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Key string `json:"key,omitempty"`
}

// XpanderDatabaseSpec says which API key to use and where to keep the connection.
type XpanderDatabaseSpec struct {
	// apiKeySecretRef points at the Secret entry holding the organization's xpander.ai API
	// key. The key is sent only to the xpander API URL the operator was started with, in the
	// x-api-key header; a change to the Secret triggers a sync at once.
	// +required
	APIKeySecretRef APIKeySecretReference `json:"apiKeySecretRef"`

	// secretName is the name of the Secret, in the same namespace, that the operator creates
	// and keeps up to date with the connection. Defaults to the XpanderDatabase's name. The
	// operator only writes a Secret it created for this object: if a Secret of that name
	// already exists and is not owned by this object, it is left untouched and Ready turns
	// False with reason SecretConflict. When secretName changes, the Secret written under the
	// old name is deleted once the new one is in place.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// refreshInterval is how long the operator waits after a successful sync before it asks
	// the xpander API again, so that rotated credentials reach the managed Secret. A Go
	// duration string such as "1h", "30m" or "1h30m"; at least 1m, at most 8760h. Defaults
	// to 1h.
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="refreshInterval must be at least 1m"
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('8760h')",message="refreshInterval must be at most 8760h (a year)"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// schedule is a cron schedule in the standard five-field syntax (minute hour
	// day-of-month month day-of-week, e.g. "0 3 * * 0" for Sundays at 03:00), for teams that
	// want rotations to land in a maintenance window. When set, it replaces refreshInterval:
	// after each successful sync the next one is at the schedule's next time. Changes to the
	// spec or the key Secret, and the sync-request annotations, still sync at once.
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:Pattern=`^(\S+\s+){4}\S+$`
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// timeZone is the IANA time zone schedule is read in, e.g. "Europe/Berlin". Defaults to
	// UTC. Only valid with schedule.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// suspend pauses syncing: while true the operator makes no API call and writes nothing,
	// and the managed Secret keeps its last connection. Defaults to false.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// rolloutRestartTargets are workloads in the same namespace to restart when the
	// credential rotates, so that pods holding the old password in memory or in their
	// environment pick up the new one. On a rotation (and only then: not on a sync that
	// changes nothing, not on an operator restart, not on the first sync) the operator
	// sets the annotation database.xpander.ai/restartedAt on each target's pod template,
	// once per rotation; the workload controller then rolls the pods as
	// `kubectl rollout restart` would. Failures are reported in the WorkloadsRestarted
	// condition and never hold up the Secret.
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +optional
	RolloutRestartTargets []RolloutRestartTarget `json:"rolloutRestartTargets,omitempty"`

	// deletionPolicy says what happens to the managed Secret when this XpanderDatabase is
	// deleted. Delete (the default) lets Kubernetes garbage-collect it through its owner
	// reference. Retain keeps it: the operator removes its owner reference and its labels,
	// and the Secret becomes an ordinary Secret that no XpanderDatabase manages.
	// +kubebuilder:validation:Enum=Delete;Retain
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// restartOnFirstSync also restarts rolloutRestartTargets after the object's first
	// successful sync, for workloads started before the Secret existed. Defaults to false.
	// +optional
	RestartOnFirstSync bool `json:"restartOnFirstSync,omitempty"`

	// secretTemplate shapes the managed Secret: which of the default keys it holds and under
	// which names, extra keys built from templates, its type, labels and annotations. Without
	// it the Secret holds every default key (see the README), type Opaque.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`
}

// SecretTemplate shapes the managed Secret. An invalid template is reported with reason
// InvalidSecretTemplate before anything is written, and the Secret is left as it was.
type SecretTemplate struct {
	// type of the managed Secret. Defaults to Opaque. With servicebinding.io/postgresql the
	// Secret also gets the entries type=postgresql and provider=xpander that the Service
	// Binding spec expects. Kubernetes does not let a Secret's type change: when this field
	// changes, the operator deletes its Secret and creates it anew.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9/]+$`
	// +optional
	Type string `json:"type,omitempty"`

	// labels to put on the managed Secret. The operator's own labels
	// (app.kubernetes.io/managed-by, database.xpander.ai/xpanderdatabase) cannot be
	// overridden. The XpanderDatabase's own labels are never copied.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations to put on the managed Secret. database.xpander.ai/fingerprint cannot be
	// overridden.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// keys lists the default keys to write, by their default names (for example uri,
	// PGHOST, jdbc-url). When unset, every default key the connection has a value for is
	// written. A listed key the connection has no value for (PGDATABASE for a URI without
	// a database) is left out.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Keys []string `json:"keys,omitempty"`

	// rename maps a default key's name to the name it is written under, for example
	// {"uri": "SPRING_DATASOURCE_URL"}. A rename must not collide with another key.
	// +optional
	Rename map[string]string `json:"rename,omitempty"`

	// data adds keys whose values are Go text/template templates over the parsed
	// connection, for example "postgres://{{ .User }}@{{ .Host }}/{{ .Database }}". The
	// fields and the functions a template may use are listed in the README; range,
	// template, define, block and the print functions are not allowed, and one template
	// may write at most 64 KiB. At most 32 keys of at most 4096 characters each.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 4096)",message="each data template must be at most 4096 characters"
	// +optional
	Data map[string]string `json:"data,omitempty"`

	// onlyTemplateKeys writes only the keys built from data, and no default key.
	// +optional
	OnlyTemplateKeys bool `json:"onlyTemplateKeys,omitempty"`
}

// RolloutRestartTarget names a workload to restart on rotation.
type RolloutRestartTarget struct {
	// kind of the workload.
	// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet
	// +required
	Kind string `json:"kind"`

	// name of the workload, in the XpanderDatabase's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// DatabaseInfo holds the non-secret fields of the xpander API's answer.
type DatabaseInfo struct {
	// id of the organization's database project, as the xpander API reports it.
	// +optional
	ID string `json:"id,omitempty"`

	// name of the database project, usually org_<organization id>.
	// +optional
	Name string `json:"name,omitempty"`

	// organizationID is the organization's id; empty when the API does not say.
	// +optional
	OrganizationID string `json:"organizationID,omitempty"`
}

// XpanderDatabaseStatus is what the operator observed and did on its latest reconciliation.
type XpanderDatabaseStatus struct {
	// observedGeneration is the metadata.generation of the spec that the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the object's health in kstatus terms: Ready (the managed Secret
	// holds the current connection), Reconciling (work in progress or a retry pending) and
	// Stalled (a person has to act). The reasons are listed in the README.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// secretName is the name of the managed Secret that holds the connection.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// database holds the non-secret fields of the xpander API's latest successful answer.
	// +optional
	Database *DatabaseInfo `json:"database,omitempty"`

	// lastSyncTime is when the xpander API last answered with a usable connection that the
	// managed Secret now holds. It stays put while syncs fail, so a stale Secret shows here.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// lastAttemptTime is when the operator last asked the xpander API, or tried to and
	// failed before it could.
	// +optional
	LastAttemptTime *metav1.Time `json:"lastAttemptTime,omitempty"`

	// consecutiveFailures counts the failed attempts since the last successful sync.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`

	// nextSyncTime is when the operator will next ask the xpander API: the next scheduled
	// refresh after a success, the end of the backoff or of Retry-After after a failure.
	// A change to the spec or the key Secret, or a sync request, comes first.
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`

	// lastRotationTime is when a sync last found a credential different from the one the
	// managed Secret held.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`

	// credentialFingerprint is a salted SHA-256 of the current connection URI. It changes
	// exactly when the credential does and cannot be turned back into it. The managed
	// Secret carries it as the annotation database.xpander.ai/credential-fingerprint.
	// +optional
	CredentialFingerprint string `json:"credentialFingerprint,omitempty"`

	// lastHandledSyncRequest is the value of the sync-request annotations
	// (database.xpander.ai/sync-requested-at, reconcile.fluxcd.io/requestedAt; both,
	// comma-separated, when both are set) of the last sync that succeeded. A request whose
	// sync fails stays pending and is retried with the failure's backoff.
	// +optional
	LastHandledSyncRequest string `json:"lastHandledSyncRequest,omitempty"`

	// apiKeySecretVersion is the resourceVersion of the key Secret the latest attempt read.
	// A key Secret with another version is synced again at once.
	// +optional
	APIKeySecretVersion string `json:"apiKeySecretVersion,omitempty"`
}

// XpanderDatabase keeps an xpander.ai organization's PostgreSQL connection in a Secret. The
// operator reads the organization's API key from a Secret, asks the xpander API for the
// database connection, writes it into a managed Secret that pods can load with envFrom or
// mount, and asks again every refreshInterval so that rotated credentials reach workloads.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=xdb,categories=xpander
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.timeZone) || has(self.spec.schedule)",message="spec.timeZone is only valid with spec.schedule"
// +kubebuilder:validation:XValidation:rule="self.spec.apiKeySecretRef.name != (has(self.spec.secretName) ? self.spec.secretName : self.metadata.name)",message="the managed Secret (spec.secretName, or the object's name when unset) must not be the Secret that holds the API key"
type XpanderDatabase struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which API key to use and where to keep the connection.
	// +required
	Spec XpanderDatabaseSpec `json:"spec"`

	// status is written by the operator.
	// +optional
	Status XpanderDatabaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// XpanderDatabaseList is a list of XpanderDatabase objects.
type XpanderDatabaseList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []XpanderDatabase `json:"items"`
}

func init() {
	SchemeBuilder.Register(&XpanderDatabase{}, &XpanderDatabaseList{})
}
