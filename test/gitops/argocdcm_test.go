package gitops_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite docs/argocd/argocd-cm.yaml from the Lua files")

const (
	healthKey  = "resource.customizations.health.database.xpander.ai_XpanderDatabase"
	actionsKey = "resource.customizations.actions.database.xpander.ai_XpanderDatabase"
)

// The ConfigMap header. The Lua files are the source; the data keys are built from them.
const argocdCMHeader = `# Argo CD resource customizations for XpanderDatabase (database.xpander.ai): a health
# check, and a "sync-now" action that asks the operator for a sync at once. Merge the two
# data keys into Argo CD's own argocd-cm ConfigMap; docs/gitops/argocd.md shows how.
#
# The Lua below is docs/argocd/health.lua, docs/argocd/actions/discovery.lua and
# docs/argocd/actions/sync-now/action.lua, character for character. test/gitops fails when
# they differ; edit the .lua files, then run
#   go test ./test/gitops -run TestArgoCDConfigMap -update
# to rewrite this file.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`

// renderArgoCDConfigMap builds argocd-cm.yaml from the three Lua scripts.
func renderArgoCDConfigMap(health, discovery, action string) string {
	var b strings.Builder
	b.WriteString(argocdCMHeader)
	b.WriteString("  " + healthKey + ": |\n")
	b.WriteString(indent(health, 4))
	b.WriteString("  " + actionsKey + ": |\n")
	b.WriteString("    discovery.lua: |\n")
	b.WriteString(indent(discovery, 6))
	b.WriteString("    definitions:\n")
	b.WriteString("    - name: sync-now\n")
	b.WriteString("      action.lua: |\n")
	b.WriteString(indent(action, 8))
	return b.String()
}

// indent indents every line but the empty ones, which stay empty so that no line ends in
// white space.
func indent(text string, spaces int) string {
	pad := strings.Repeat(" ", spaces)
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		if strings.TrimSpace(line) != "" {
			lines[i] = pad + line
		}
	}
	return strings.Join(lines, "")
}

func TestArgoCDConfigMapHoldsTheLuaFilesWordForWord(t *testing.T) {
	health := readDoc(t, "health.lua")
	discovery := readDoc(t, "actions/discovery.lua")
	action := readDoc(t, "actions/sync-now/action.lua")
	for name, script := range map[string]string{
		"health.lua": health, "actions/discovery.lua": discovery, "actions/sync-now/action.lua": action,
	} {
		// A block scalar ("|") keeps exactly one final newline, and YAML cannot carry a tab
		// in indentation or keep trailing blanks reliably.
		if !strings.HasSuffix(script, "\n") || strings.HasSuffix(script, "\n\n") {
			t.Errorf("docs/argocd/%s must end in exactly one newline", name)
		}
		for i, line := range strings.Split(script, "\n") {
			if strings.TrimRight(line, " \t") != line || strings.HasPrefix(line, "\t") {
				t.Errorf("docs/argocd/%s:%d has trailing white space or a leading tab", name, i+1)
			}
		}
	}

	path := filepath.Join(argoDir, "argocd-cm.yaml")
	want := renderArgoCDConfigMap(health, discovery, action)
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	got := readDoc(t, "argocd-cm.yaml")
	if got != want {
		t.Errorf("docs/argocd/argocd-cm.yaml does not hold the Lua files as they are; run\n" +
			"  go test ./test/gitops -run TestArgoCDConfigMap -update")
	}

	// Read the ConfigMap the way Argo CD does, so that a YAML mistake in the rendering
	// (indentation, a block scalar that chomps) cannot hide behind the text comparison.
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict([]byte(got), &cm); err != nil {
		t.Fatalf("parse argocd-cm.yaml: %v", err)
	}
	if cm.Name != "argocd-cm" || cm.Namespace != "argocd" ||
		cm.Labels["app.kubernetes.io/part-of"] != "argocd" {
		t.Errorf("the ConfigMap is %s/%s with labels %v; Argo CD reads argocd/argocd-cm labelled "+
			"app.kubernetes.io/part-of=argocd", cm.Namespace, cm.Name, cm.Labels)
	}
	if len(cm.Data) != 2 {
		t.Errorf("the ConfigMap has %d data keys, want exactly %s and %s", len(cm.Data), healthKey, actionsKey)
	}
	if cm.Data[healthKey] != health {
		t.Errorf("%s differs from docs/argocd/health.lua", healthKey)
	}

	var actions struct {
		DiscoveryLua string `json:"discovery.lua"`
		Definitions  []struct {
			Name      string `json:"name"`
			ActionLua string `json:"action.lua"`
		} `json:"definitions"`
	}
	if err := yaml.UnmarshalStrict([]byte(cm.Data[actionsKey]), &actions); err != nil {
		t.Fatalf("parse %s: %v", actionsKey, err)
	}
	if actions.DiscoveryLua != discovery {
		t.Errorf("discovery.lua in %s differs from docs/argocd/actions/discovery.lua", actionsKey)
	}
	if len(actions.Definitions) != 1 || actions.Definitions[0].Name != "sync-now" {
		t.Fatalf("%s defines %+v, want the one action sync-now", actionsKey, actions.Definitions)
	}
	if actions.Definitions[0].ActionLua != action {
		t.Errorf("sync-now's action.lua in %s differs from docs/argocd/actions/sync-now/action.lua", actionsKey)
	}
}
