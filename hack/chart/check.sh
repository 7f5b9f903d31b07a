#!/usr/bin/env bash
# Checks the Helm chart in charts/xpander-db-operator, and exits non-zero on the first failure:
#
#   - its CRDs and manager rules are those generated under config/ (sync.sh --check);
#   - helm lint --strict, with default values, with every feature on, and with each source of
#     the extra CA bundle;
#   - the rendered CRDs equal config's; the manager's arguments are the operator's flags,
#     with the operator's defaults by default and every flag settable (checked against the
#     operator's own --help, so a new flag in main.go fails here until the chart has it);
#   - promtool checks the PrometheusRule and runs the stale-Secret alert's unit tests;
#   - on an envtest control plane (cluster-check.sh): a server-side dry run of the rendered
#     manifests; a real helm install, upgrade with a CRD field added, rollback, uninstall,
#     reinstall and a second release; and the operator itself, run as the release's
#     ServiceAccount with the release's arguments, syncing from the stand-in API, with
#     cluster-wide and with namespaced RBAC.
#
# It builds what it needs: helm and promtool (tools.sh), the control plane
# (hack/build-control-plane.sh, as `make envtest` does), the manager, the stand-in API and
# this directory's Go program. KEEP_WORK=1 keeps the work directory (renders, logs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
K8S_VERSION="${K8S_VERSION:-1.37.2}"
ASSETS="${KUBEBUILDER_ASSETS:-$ROOT/bin/k8s/$K8S_VERSION-$(go env GOOS)-$(go env GOARCH)}"
CHART=charts/xpander-db-operator
start=$(date +%s)

step() { printf '\n== %s\n' "$*"; }

WORK="$(mktemp -d)"
trap '[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"' EXIT

step "tools"
HELM="$(hack/chart/tools.sh helm)"
PROMTOOL="$(hack/chart/tools.sh promtool)"
if [[ ! -x "$ASSETS/kube-apiserver" || ! -x "$ASSETS/etcd" || ! -x "$ASSETS/kubectl" ]]; then
  K8S_VERSION="$K8S_VERSION" hack/build-control-plane.sh "$ASSETS"
fi
CHART_TOOL="$WORK/chart"
go build -o "$CHART_TOOL" ./hack/chart
"$HELM" version --short

step "generated files"
"$CHART_TOOL" sync -check

step "helm lint"
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" -f hack/chart/testdata/values-all.yaml
"$HELM" lint --strict "$CHART" --set xpanderAPI.caBundle.configMap.name=corp-ca
"$HELM" lint --strict "$CHART" --set xpanderAPI.caBundle.secret.name=corp-ca,xpanderAPI.caBundle.secret.key=bundle.pem
# Settings the chart must refuse.
refuse() {
  local why="$1"
  shift
  if "$HELM" template xdb "$CHART" "$@" >/dev/null 2>"$WORK/refused"; then
    echo "FAIL: the chart accepted $why" >&2
    exit 1
  fi
  echo "refused, as it should: $why ($(grep -v -e '^$' -e 'Use --debug' "$WORK/refused" | tail -1))"
}
refuse "two CA bundle sources" --set xpanderAPI.caBundle.pem=x,xpanderAPI.caBundle.secret.name=y
refuse "rbac.namespaced without watch.namespaces" --set rbac.namespaced=true
refuse "a misspelt value" --set replicas=3
refuse "a duration given as a number" --set xpanderAPI.timeout=30
refuse "an http API URL" --set xpanderAPI.url=http://api.example.invalid

step "helm template"
"$HELM" template xdb "$CHART" --namespace xdb-system >"$WORK/render-default.yaml"
"$HELM" template xdb "$CHART" --namespace xdb-system -f hack/chart/testdata/values-all.yaml \
  >"$WORK/render-all.yaml"
grep -c '^kind:' "$WORK/render-default.yaml" "$WORK/render-all.yaml"
"$CHART_TOOL" same-crds -manifests "$WORK/render-default.yaml"

step "manager arguments against the operator's flags"
go build -o "$WORK/manager" .
go build -o "$WORK/xpander-standin" ./hack/xpander-standin
"$WORK/manager" --help 2>"$WORK/help.txt" || true
"$CHART_TOOL" flags -help "$WORK/help.txt" -manifests "$WORK/render-default.yaml"
"$CHART_TOOL" flags -help "$WORK/help.txt" -manifests "$WORK/render-all.yaml" -all

step "PrometheusRule: promtool check and alert tests"
"$HELM" template xdb "$CHART" --namespace xdb-system --set prometheusRule.enabled=true \
  >"$WORK/render-rule.yaml"
mkdir -p "$WORK/promtool"
"$CHART_TOOL" prometheus-rules -manifests "$WORK/render-rule.yaml" -out "$WORK/promtool/rules.json"
cp hack/chart/testdata/stale-alert-test.yaml "$WORK/promtool/"
"$PROMTOOL" check rules "$WORK/promtool/rules.json"
(cd "$WORK/promtool" && "$PROMTOOL" test rules stale-alert-test.yaml)
"$CHART_TOOL" prometheus-rules -manifests "$WORK/render-all.yaml" -out "$WORK/promtool/rules-all.json"
"$PROMTOOL" check rules "$WORK/promtool/rules-all.json"

step "control plane: dry run; helm install, upgrade, rollback, uninstall; the operator as the release's ServiceAccount"
export KUBECTL="$ASSETS/kubectl" HELM CHART_TOOL WORK
"$CHART_TOOL" controlplane -assets "$ASSETS" -dir "$WORK" -- hack/chart/cluster-check.sh ||
  { echo "control plane log: last lines" >&2; tail -20 "$WORK/control-plane.log" >&2; exit 1; }

echo
echo "chart check passed in $(($(date +%s) - start))s"
