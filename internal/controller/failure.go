package controller

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	databasev1alpha1 "github.com/xpander-ai/xpander-db-operator/api/v1alpha1"
	"github.com/xpander-ai/xpander-db-operator/internal/connstring"
	"github.com/xpander-ai/xpander-db-operator/internal/xpander"
)

// retryPolicy is how a failed sync is retried.
type retryPolicy int

const (
	// backoff: a transient failure. The error goes back to controller-runtime, whose
	// per-object exponential backoff schedules the retry.
	backoff retryPolicy = iota
	// waitFor: the cause says how long to wait (a 429's Retry-After); retry then, not sooner.
	waitFor
	// needsUser: retrying will not help until a person acts. The object is Stalled; it is
	// synced again when it or a Secret it names changes, and every refreshInterval anyway.
	needsUser
)

// failure is a sync error together with the condition reason it is reported under and the
// way it is retried. Its message never holds the API key, the URI or the password.
type failure struct {
	reason string
	policy retryPolicy
	after  time.Duration
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, policy retryPolicy, format string, args ...any) *failure {
	return &failure{reason: reason, policy: policy, err: fmt.Errorf(format, args...)}
}

// defaultRateLimitWait applies when a 429 answer does not say how long to wait.
const defaultRateLimitWait = time.Minute

// apiFailure turns an xpander client error into a failure.
func apiFailure(err error) *failure {
	var apiErr *xpander.Error
	if !errors.As(err, &apiErr) {
		return &failure{reason: databasev1alpha1.APIUnreachableReason, policy: backoff, err: err}
	}
	switch apiErr.Kind {
	case xpander.KindUnauthorized:
		return &failure{reason: databasev1alpha1.UnauthorizedReason, policy: needsUser, err: err}
	case xpander.KindRateLimited:
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = defaultRateLimitWait
		}
		return &failure{reason: databasev1alpha1.RateLimitedReason, policy: waitFor, after: wait, err: err}
	case xpander.KindServerError:
		return &failure{reason: databasev1alpha1.APIServerErrorReason, policy: backoff, err: err}
	case xpander.KindNoConnectionURI:
		return &failure{reason: databasev1alpha1.ConnectionURIUnavailableReason, policy: backoff, err: err}
	case xpander.KindMalformed:
		return &failure{reason: databasev1alpha1.MalformedResponseReason, policy: backoff, err: err}
	default:
		return &failure{reason: databasev1alpha1.APIUnreachableReason, policy: backoff, err: err}
	}
}

// uriFailure reports a connection URI that clients would not accept.
func uriFailure(err error) *failure {
	if !errors.Is(err, connstring.ErrInvalid) {
		err = connstring.ErrInvalid
	}
	return &failure{
		reason: databasev1alpha1.InvalidConnectionURIReason,
		policy: backoff,
		err:    fmt.Errorf("xpander API answered with an unusable connection URI: %w", err),
	}
}

// kubeFailure reports a failed read or write of the Kubernetes API.
func kubeFailure(err error, format string, args ...any) *failure {
	policy := backoff
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		policy = needsUser
	}
	return &failure{
		reason: databasev1alpha1.KubernetesAPIErrorReason,
		policy: policy,
		err:    fmt.Errorf(format+": %w", append(args, err)...),
	}
}

// asFailure classifies any error a sync step returned.
func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return &failure{reason: databasev1alpha1.KubernetesAPIErrorReason, policy: backoff, err: err}
}
