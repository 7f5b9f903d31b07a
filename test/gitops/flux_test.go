package gitops_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

const fluxDoc = "../../docs/gitops/flux.md"

// errNotEvaluated stands for a health check expression that could not be evaluated, for
// instance because it reads status and the object has none. Flux then reports the object's
// status as unknown and keeps polling it, so the Kustomization is not ready.
var errNotEvaluated = errors.New("cannot be evaluated")

// Each row is the verdict docs/gitops/flux.md promises in its "state by state" table.
var fluxTable = []struct {
	name        string
	state       state
	kstatus     status.Status
	kstatusMsg  string // checked when set
	expressions status.Status
	exprErr     error
}{
	{
		name:        "an object the operator has not seen yet is Current to plain kstatus, but not ready with the expressions",
		state:       asCreated,
		kstatus:     status.CurrentStatus,
		expressions: status.UnknownStatus, exprErr: errNotEvaluated,
	},
	{
		name:        "a status without conditions is Current to plain kstatus, and InProgress with the expressions",
		state:       withEmptyStatus,
		kstatus:     status.CurrentStatus,
		expressions: status.InProgressStatus,
	},
	{
		name:        "a synced object whose status describes the current spec is Current",
		state:       synced,
		kstatus:     status.CurrentStatus,
		expressions: status.CurrentStatus,
	},
	{
		name:        "a status written for an older generation is InProgress",
		state:       specChanged,
		kstatus:     status.InProgressStatus,
		kstatusMsg:  "XpanderDatabase generation is 4, but latest observed generation is 3",
		expressions: status.InProgressStatus,
	},
	{
		name:        "a Ready condition stamped with an older generation is Current to plain kstatus, and InProgress with the expressions",
		state:       readyFromAnOlderSpec,
		kstatus:     status.CurrentStatus,
		expressions: status.InProgressStatus,
	},
	{
		name:        "a server error being retried is InProgress with the Reconciling message",
		state:       retryingAServerError,
		kstatus:     status.InProgressStatus,
		kstatusMsg:  retryingMessage,
		expressions: status.InProgressStatus,
	},
	{
		name:        "a refused API key is Failed with the Stalled message",
		state:       stalledOnAWrongKey,
		kstatus:     status.FailedStatus,
		kstatusMsg:  unauthorizedMessage,
		expressions: status.FailedStatus,
	},
	{
		name:        "Ready False without Reconciling or Stalled is InProgress",
		state:       readyFalseAlone,
		kstatus:     status.InProgressStatus,
		kstatusMsg:  forbiddenMessage,
		expressions: status.InProgressStatus,
	},
	{
		name:        "a suspended object is Current once the operator has acknowledged the new generation",
		state:       suspendedAfterASync,
		kstatus:     status.CurrentStatus,
		expressions: status.CurrentStatus,
	},
	{
		name:        "an object created suspended is Current, with or without the expressions",
		state:       createdSuspended,
		kstatus:     status.CurrentStatus,
		expressions: status.CurrentStatus,
	},
	{
		name:        "a failed rollout restart leaves a synced object Current",
		state:       syncedButARestartFailed,
		kstatus:     status.CurrentStatus,
		expressions: status.CurrentStatus,
	},
}

func TestKstatusReadsTheConditionsAsFluxDocSays(t *testing.T) {
	for _, tt := range fluxTable {
		t.Run(tt.name, func(t *testing.T) {
			res, err := status.Compute(&unstructured.Unstructured{Object: tt.state(t)})
			if err != nil {
				t.Fatalf("kstatus: %v", err)
			}
			if res.Status != tt.kstatus {
				t.Errorf("kstatus = %s (%q), want %s", res.Status, res.Message, tt.kstatus)
			}
			if tt.kstatusMsg != "" && res.Message != tt.kstatusMsg {
				t.Errorf("kstatus message = %q, want %q", res.Message, tt.kstatusMsg)
			}
		})
	}
}

func TestFluxHealthCheckExpressionsReadTheConditionsAsFluxDocSays(t *testing.T) {
	check := healthCheckExprsFromFluxDoc(t)
	for _, tt := range fluxTable {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check.evaluate(tt.state(t))
			if !errors.Is(err, tt.exprErr) {
				t.Fatalf("evaluating the expressions: error %v, want %v", err, tt.exprErr)
			}
			if got != tt.expressions {
				t.Errorf("status = %s, want %s", got, tt.expressions)
			}
		})
	}
}

func TestFluxDocWaitsForTheXpanderDatabase(t *testing.T) {
	ks := kustomizationsInFluxDoc(t)
	db, ok := ks["xpander-db"]
	if !ok {
		t.Fatal("flux.md has no Kustomization named xpander-db")
	}
	if !db.Spec.Wait {
		t.Error("the xpander-db Kustomization does not set wait: true")
	}
	if db.Spec.Timeout == "" {
		t.Error("the xpander-db Kustomization sets no timeout, so a failing sync would hold it for its interval")
	}
	shop, ok := ks["shop"]
	if !ok {
		t.Fatal("flux.md has no Kustomization named shop")
	}
	if len(shop.Spec.DependsOn) != 1 || shop.Spec.DependsOn[0].Name != "xpander-db" {
		t.Errorf("the shop Kustomization depends on %+v, want xpander-db", shop.Spec.DependsOn)
	}
}

// kustomization holds the fields of a Flux Kustomization the tests look at.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Wait      bool   `json:"wait"`
		Timeout   string `json:"timeout"`
		DependsOn []struct {
			Name string `json:"name"`
		} `json:"dependsOn"`
		HealthCheckExprs []healthCheckExpr `json:"healthCheckExprs"`
	} `json:"spec"`
}

type healthCheckExpr struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Current    string `json:"current"`
	InProgress string `json:"inProgress"`
	Failed     string `json:"failed"`
}

// kustomizationsInFluxDoc reads the Flux Kustomizations from the yaml code blocks of
// flux.md, by name.
func kustomizationsInFluxDoc(t *testing.T) map[string]kustomization {
	t.Helper()
	b, err := os.ReadFile(fluxDoc)
	if err != nil {
		t.Fatalf("read %s: %v", fluxDoc, err)
	}
	found := map[string]kustomization{}
	blocks := strings.Split(string(b), "```yaml\n")
	for _, block := range blocks[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, doc := range strings.Split(block, "\n---\n") {
			if !strings.Contains(doc, "apiVersion: kustomize.toolkit.fluxcd.io/") {
				continue
			}
			var k kustomization
			if err := yaml.Unmarshal([]byte(doc), &k); err != nil {
				t.Fatalf("parse a Kustomization in %s: %v", fluxDoc, err)
			}
			if k.APIVersion != "kustomize.toolkit.fluxcd.io/v1" || k.Kind != "Kustomization" {
				t.Errorf("%s shows a %s %s, want kustomize.toolkit.fluxcd.io/v1 Kustomization",
					fluxDoc, k.APIVersion, k.Kind)
			}
			found[k.Metadata.Name] = k
		}
	}
	return found
}

// celHealthCheck evaluates a healthCheckExprs entry as kustomize-controller does.
type celHealthCheck struct {
	current, inProgress, failed cel.Program
}

func healthCheckExprsFromFluxDoc(t *testing.T) *celHealthCheck {
	t.Helper()
	var exprs []healthCheckExpr
	for _, k := range kustomizationsInFluxDoc(t) {
		for _, e := range k.Spec.HealthCheckExprs {
			if e.Kind == "XpanderDatabase" {
				exprs = append(exprs, e)
			}
		}
	}
	if len(exprs) != 1 {
		t.Fatalf("%s has %d healthCheckExprs for XpanderDatabase, want 1", fluxDoc, len(exprs))
	}
	e := exprs[0]
	if e.APIVersion != "database.xpander.ai/v1alpha1" {
		t.Errorf("the healthCheckExprs entry is for %s, want database.xpander.ai/v1alpha1", e.APIVersion)
	}
	return &celHealthCheck{
		current:    compileFluxCEL(t, e.Current),
		inProgress: compileFluxCEL(t, e.InProgress),
		failed:     compileFluxCEL(t, e.Failed),
	}
}

// compileFluxCEL prepares an expression in an environment set up like the one
// kustomize-controller uses (fluxcd/pkg/runtime/cel): the expression is parsed, not
// type-checked, because the object's top-level fields are its variables and their types are
// not declared; optional fields (.?) and the strings, sets and encoders extensions are on.
func compileFluxCEL(t *testing.T, expr string) cel.Program {
	t.Helper()
	if expr == "" {
		return nil
	}
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		t.Fatalf("create CEL environment: %v", err)
	}
	ast, issues := env.Parse(expr)
	if issues != nil && issues.Err() != nil {
		t.Fatalf("parse %q: %v", expr, issues.Err())
	}
	prog, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
	if err != nil {
		t.Fatalf("program %q: %v", expr, err)
	}
	return prog
}

// evaluate follows Flux's order: an observedGeneration that differs from the generation is
// InProgress before any expression runs; then inProgress, failed and current, the first
// that is true deciding; none true is InProgress.
func (c *celHealthCheck) evaluate(obj map[string]any) (status.Status, error) {
	u := &unstructured.Unstructured{Object: obj}
	observed, found, err := unstructured.NestedInt64(obj, "status", "observedGeneration")
	if err != nil {
		return status.UnknownStatus, err
	}
	if found && observed != u.GetGeneration() {
		return status.InProgressStatus, nil
	}
	for _, step := range []struct {
		prog cel.Program
		then status.Status
	}{
		{c.inProgress, status.InProgressStatus},
		{c.failed, status.FailedStatus},
		{c.current, status.CurrentStatus},
	} {
		if step.prog == nil {
			continue
		}
		val, _, err := step.prog.ContextEval(context.Background(), obj)
		if err != nil {
			return status.UnknownStatus, errors.Join(errNotEvaluated, err)
		}
		b, ok := val.(types.Bool)
		if !ok {
			return status.UnknownStatus, errors.Join(errNotEvaluated, errors.New("not a boolean"))
		}
		if b {
			return step.then, nil
		}
	}
	return status.InProgressStatus, nil
}
