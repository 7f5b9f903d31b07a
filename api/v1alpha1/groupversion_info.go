// Package v1alpha1 holds the database.xpander.ai/v1alpha1 API: the XpanderDatabase kind, which
// keeps an xpander.ai organization's PostgreSQL connection in a Kubernetes Secret.
//
// +kubebuilder:object:generate=true
// +groupName=database.xpander.ai
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "database.xpander.ai", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this package's kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
