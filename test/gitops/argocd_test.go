package gitops_test

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const (
	argoDir          = "../../docs/argocd"
	syncRequestedKey = "database.xpander.ai/sync-requested-at"
)

// readDoc returns a file under docs/argocd.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(argoDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read docs/argocd/%s: %v", name, err)
	}
	return string(b)
}

// health is what an Argo CD health script returns.
type health struct {
	Status  string
	Message string
}

func runHealth(t *testing.T, obj map[string]any) health {
	t.Helper()
	got := runLua(t, readDoc(t, "health.lua"), obj, time.Now, map[string]any{})
	result, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("health.lua returned %#v, not a table", got)
	}
	for key := range result {
		if key != "status" && key != "message" {
			t.Errorf("health.lua returned the key %q, which Argo CD does not read", key)
		}
	}
	status, _ := result["status"].(string)
	message, _ := result["message"].(string)
	switch status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		t.Errorf("health.lua returned status %q, which Argo CD turns into Unknown", status)
	}
	return health{Status: status, Message: message}
}

func TestArgoCDHealthFollowsTheConditions(t *testing.T) {
	tests := []struct {
		name  string
		state state
		want  health
	}{
		{
			name:  "an object the operator has not seen yet is progressing towards its first sync",
			state: asCreated,
			want:  health{"Progressing", "Waiting for the first sync"},
		},
		{
			name:  "a status without conditions is still waiting for the first sync",
			state: withEmptyStatus,
			want:  health{"Progressing", "Waiting for the first sync"},
		},
		{
			name:  "a synced object whose status describes the current spec is healthy",
			state: synced,
			want:  health{"Healthy", syncedMessage},
		},
		{
			name:  "a Ready status written for an older generation is progressing, not healthy",
			state: specChanged,
			want:  health{"Progressing", "Waiting for the operator to sync generation 4"},
		},
		{
			name:  "a Ready condition stamped with an older generation is progressing, not healthy",
			state: readyFromAnOlderSpec,
			want:  health{"Progressing", "Waiting for the operator to sync generation 3"},
		},
		{
			name:  "a server error being retried is progressing and says what failed and when it retries",
			state: retryingAServerError,
			want:  health{"Progressing", "APIServerError: " + retryingMessage},
		},
		{
			name:  "a refused API key is degraded with the Ready condition's reason and message",
			state: stalledOnAWrongKey,
			want:  health{"Degraded", "Unauthorized: " + unauthorizedMessage},
		},
		{
			name:  "Ready False without Reconciling is degraded",
			state: readyFalseAlone,
			want:  health{"Degraded", "KubernetesAPIError: " + forbiddenMessage},
		},
		{
			name:  "a suspended object is suspended although its status is from before the pause",
			state: suspendedAfterASync,
			want: health{"Suspended",
				"Syncing is suspended (spec.suspend); the Secret keeps its last connection"},
		},
		{
			name:  "a suspended object is suspended even when it was stalled before the pause",
			state: suspendedWhileStalled,
			want: health{"Suspended",
				"Syncing is suspended (spec.suspend); the Secret keeps its last connection"},
		},
		{
			name:  "an object created suspended is suspended, not waiting for a first sync",
			state: createdSuspended,
			want: health{"Suspended",
				"Syncing is suspended (spec.suspend); the Secret keeps its last connection"},
		},
		{
			name:  "a failed rollout restart leaves a synced object healthy",
			state: syncedButARestartFailed,
			want:  health{"Healthy", syncedMessage},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runHealth(t, tt.state(t)); got != tt.want {
				t.Errorf("health = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestArgoCDOffersSyncNow(t *testing.T) {
	tests := []struct {
		name         string
		state        state
		wantDisabled bool
	}{
		{name: "a synced object offers sync-now", state: synced},
		{name: "a stalled object offers sync-now, to retry once the key is fixed", state: stalledOnAWrongKey},
		{name: "an object not synced yet offers sync-now", state: asCreated},
		{
			name:         "a suspended object shows sync-now disabled, because it ignores sync requests",
			state:        suspendedAfterASync,
			wantDisabled: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runLua(t, readDoc(t, "actions/discovery.lua"), tt.state(t), time.Now, map[string]any{})
			want := map[string]any{
				"sync-now": map[string]any{
					"displayName": "Sync now",
					"iconClass":   "fa fa-fw fa-sync",
					"disabled":    tt.wantDisabled,
				},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("discovery.lua returned %#v, want %#v", got, want)
			}
		})
	}
}

func TestArgoCDSyncNowRequestsASync(t *testing.T) {
	at := time.Date(2026, time.March, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))
	clock := func() time.Time { return at }
	const stamp = "2026-03-14T08:26:53Z"

	tests := []struct {
		name string
		// before sets the annotation before the action runs; "" leaves it unset.
		before string
		state  state
		want   string
	}{
		{
			name:  "an object without annotations gets the request as its only new annotation",
			state: func(t *testing.T) map[string]any { return withoutAnnotations(synced(t)) },
			want:  stamp,
		},
		{
			name:  "an object with other annotations keeps them and gets the request",
			state: synced,
			want:  stamp,
		},
		{
			name:   "an earlier request is replaced by the current time",
			state:  synced,
			before: "2026-03-01T00:00:00Z",
			want:   stamp,
		},
		{
			name:   "a second request in the same second still writes a new value",
			state:  synced,
			before: stamp,
			want:   stamp + "-1",
		},
		{
			name:   "a third request in the same second writes a value different from the second",
			state:  synced,
			before: stamp + "-1",
			want:   stamp,
		},
		{
			name:   "a request typed by hand with kubectl is replaced",
			state:  stalledOnAWrongKey,
			before: "1767225600",
			want:   stamp,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.state(t)
			if tt.before != "" {
				setAnnotation(before, syncRequestedKey, tt.before)
			}
			// What Argo CD hands the script is its own copy; keep ours to compare with.
			input := deepCopy(before)

			got := runLua(t, readDoc(t, "actions/sync-now/action.lua"), input, clock, before)

			want := deepCopy(before)
			setAnnotation(want, syncRequestedKey, tt.want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("action.lua returned\n%#v\nwant the object with only the annotation changed:\n%#v",
					got, want)
			}
		})
	}
}

// The table above runs on a fixed clock. This runs the action on gopher-lua's own os.date,
// from which Argo CD's sandboxed os.date is taken, to show that the format it uses is
// understood there and gives a parseable UTC time.
func TestArgoCDSyncNowWritesTheCurrentTimeInUTC(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	osLib := L.GetGlobal(lua.OsLibName).(*lua.LTable)
	if err := L.CallByParam(lua.P{Fn: osLib.RawGetString("date"), NRet: 1, Protect: true},
		lua.LString("!%Y-%m-%dT%H:%M:%SZ")); err != nil {
		t.Fatalf("call os.date: %v", err)
	}
	formatted := L.Get(-1).String()

	got, err := time.Parse(time.RFC3339, formatted)
	if err != nil {
		t.Fatalf("os.date wrote %q, which is not an RFC 3339 time: %v", formatted, err)
	}
	if d := time.Since(got); d < -time.Second || d > time.Minute {
		t.Errorf("os.date wrote %s, %s away from now", formatted, d)
	}

	// The same with the script itself, on the real clock.
	obj := runLua(t, readDoc(t, "actions/sync-now/action.lua"), synced(t), time.Now, synced(t))
	annotations := obj.(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
	value, _ := annotations[syncRequestedKey].(string)
	if value == "" {
		t.Fatalf("the action left %s empty", syncRequestedKey)
	}
	if _, err := time.Parse(time.RFC3339, value); err != nil {
		t.Errorf("the action wrote %q, which is not an RFC 3339 time: %v", value, err)
	}
}

func withoutAnnotations(obj map[string]any) map[string]any {
	delete(obj["metadata"].(map[string]any), "annotations")
	return obj
}

func setAnnotation(obj map[string]any, key, value string) {
	meta := obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[key] = value
}

// deepCopy copies a decoded JSON object.
func deepCopy(obj map[string]any) map[string]any {
	out := maps.Clone(obj)
	for key, value := range out {
		out[key] = deepCopyValue(value)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = deepCopyValue(item)
		}
		return out
	default:
		return v
	}
}
