#!/usr/bin/env bash
# The chart checks that need an API server. hack/chart/check.sh runs this inside
# `chart controlplane`, which has started envtest's etcd and kube-apiserver on loopback and
# set KUBECONFIG; nothing here reaches any other cluster.
#
#   1. Server-side dry run of the chart rendered with default values and with every feature
#      on (ServiceMonitor and PrometheusRule against stand-in CRDs, see testdata/).
#   2. A real `helm install`, then `helm upgrade` to a copy of the chart whose CRD has one
#      field more: the field must be in the cluster's CRD afterwards and usable on an
#      existing object; `helm rollback` must take it out again. Then `helm uninstall`: the
#      CRD and the object must stay, and a reinstall under the same release name must adopt
#      the kept CRD; a second release (a shard) must be refused the CRD, and install with
#      crds.install=false.
#   3. The operator itself, run on this machine as the release's ServiceAccount (through
#      impersonation) with the release's own arguments, syncs an XpanderDatabase from the
#      stand-in API on loopback: once with the cluster-wide binding, once with
#      rbac.namespaced. This shows that the generated rules and the leader election Role are
#      enough, which a dry run cannot.
#
# Needs: KUBECONFIG, KUBECTL, HELM, CHART_TOOL, WORK (holding render-*.yaml, manager and
# xpander-standin).
set -euo pipefail
: "${KUBECONFIG:?}" "${KUBECTL:?}" "${HELM:?}" "${CHART_TOOL:?}" "${WORK:?}"

# Processes this script starts, stopped on any exit.
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$ROOT/charts/xpander-db-operator"
NS=xdb-system
CRD=xpanderdatabases.database.xpander.ai
FIELD=chartUpgradeProbe
# Helm keeps its cache, configuration and repository data under the work directory.
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
k() { "$KUBECTL" "$@"; }

step "namespaces and stand-in monitoring.coreos.com CRDs"
k create namespace "$NS"
k create namespace team-a
k create namespace team-b
k create namespace monitoring
k apply --server-side -f "$ROOT/hack/chart/testdata/monitoring-crd-stubs.yaml"
k wait --for=condition=Established --timeout=60s \
  crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com

for render in default all; do
  step "server-side dry run: $render values"
  k apply --server-side --dry-run=server --field-manager=chart-check -f "$WORK/render-$render.yaml"
done

step "helm install (release 1)"
"$HELM" install xdb "$CHART" --namespace "$NS"
k wait --for=condition=Established --timeout=60s "crd/$CRD"
[[ "$(k get crd "$CRD" -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}')" == keep ]] ||
  fail "the CRD lacks helm.sh/resource-policy: keep"
k get deployment,serviceaccount,role,rolebinding,service -n "$NS" -l app.kubernetes.io/instance=xdb
k apply --server-side -n team-a -f "$ROOT/config/samples/database_v1alpha1_xpanderdatabase.yaml"
schema_path="{.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.$FIELD.type}"
[[ -z "$(k get crd "$CRD" -o jsonpath="$schema_path")" ]] || fail "spec.$FIELD exists before the upgrade"

step "helm upgrade to a chart whose CRD has spec.$FIELD (release 2)"
cp -r "$CHART" "$WORK/chart-next"
sed -i 's/^version: .*/version: 0.1.1-upgrade-test/' "$WORK/chart-next/Chart.yaml"
for crd in "$WORK"/chart-next/files/crds/*.yaml; do
  "$CHART_TOOL" crd-add-field -in "$crd" -out "$crd.new" -field "$FIELD"
  mv "$crd.new" "$crd"
done
"$HELM" upgrade xdb "$WORK/chart-next" --namespace "$NS"
got="$(k get crd "$CRD" -o jsonpath="$schema_path")"
[[ "$got" == string ]] || fail "after helm upgrade, the CRD's spec.$FIELD has type '$got', want string"
echo "the CRD now has spec.$FIELD (type $got)"
# The API server prunes fields a schema does not declare, so reading the value back shows
# that the served schema, not only the stored CRD, has the field.
k patch xpanderdatabase xpander-db -n team-a --type merge -p "{\"spec\":{\"$FIELD\":\"kept\"}}"
got="$(k get xpanderdatabase xpander-db -n team-a -o jsonpath="{.spec.$FIELD}")"
[[ "$got" == kept ]] || fail "spec.$FIELD of an existing object reads '$got' after the upgrade, want kept"
echo "an existing XpanderDatabase takes spec.$FIELD=$got"

step "helm rollback to release 1 takes the field out of the schema again"
"$HELM" rollback xdb 1 --namespace "$NS"
[[ -z "$(k get crd "$CRD" -o jsonpath="$schema_path")" ]] || fail "spec.$FIELD is still in the CRD after the rollback"
got="$(k get xpanderdatabase xpander-db -n team-a -o jsonpath="{.spec.$FIELD}")"
[[ -z "$got" ]] || fail "spec.$FIELD still reads '$got' after the rollback; docs/install.md says it is pruned"
echo "the rollback removed spec.$FIELD from the CRD, and the API server no longer returns its value"
"$HELM" history xdb --namespace "$NS"

step "helm uninstall: the CRD and the objects stay"
"$HELM" uninstall xdb --namespace "$NS"
k get crd "$CRD" >/dev/null || fail "helm uninstall deleted the CRD"
k get xpanderdatabase xpander-db -n team-a >/dev/null || fail "helm uninstall deleted an XpanderDatabase"
! k get deployment xdb-xpander-db-operator -n "$NS" >/dev/null 2>&1 || fail "the Deployment outlived helm uninstall"
echo "CRD $CRD and xpanderdatabase team-a/xpander-db are still there; the Deployment is gone"

step "helm install again under the same name adopts the kept CRD"
"$HELM" install xdb "$CHART" --namespace "$NS"
[[ "$(k get crd "$CRD" -o jsonpath='{.metadata.labels.helm\.sh/chart}')" == xpander-db-operator-0.1.0 ]] ||
  fail "the reinstalled release did not take over the CRD"
echo "the CRD belongs to the new release"

step "a second release (another shard) must leave the CRD to the first"
k create namespace xdb-shard1
if "$HELM" install shard1 "$CHART" --namespace xdb-shard1 >"$WORK/shard1.log" 2>&1; then
  fail "a second release took over the CRD of release xdb"
fi
grep -o 'invalid ownership metadata.*release-name[^;]*' "$WORK/shard1.log" | head -1
"$HELM" install shard1 "$CHART" --namespace xdb-shard1 --set crds.install=false \
  --set leaderElection.id=xdb-shard1 --set 'watch.labelSelector=sharding.fluxcd.io/key in (shard1)' >/dev/null
[[ "$(k get crd "$CRD" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}')" == xdb ]] ||
  fail "the CRD changed hands"
echo "with crds.install=false the second release installs and the CRD stays with release xdb"

step "the operator runs with the release's arguments and RBAC"
SA="system:serviceaccount:$NS:xdb-xpander-db-operator"
# The stand-in answers for the API key in config/samples' Secret.
cat >"$WORK/answers.json" <<'JSON'
{"replace-with-your-xpander-api-key": {"id": "db-check", "name": "org_check",
  "organization_id": "org-check",
  "connection_uri": {"uri": "postgresql://app:s3cret@db.example.invalid:5432/app?sslmode=require"}}}
JSON
"$WORK/xpander-standin" --answers "$WORK/answers.json" --ca-out "$WORK/standin-ca.pem" \
  --url-out "$WORK/standin-url.txt" >"$WORK/standin.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$WORK/standin-url.txt" ]] && break; sleep 0.1; done
[[ -s "$WORK/standin-url.txt" ]] || fail "the stand-in API did not start: $(cat "$WORK/standin.log")"
# A kubeconfig that acts as the release's ServiceAccount: the admin user impersonates it, so
# every request the operator makes is authorized by the chart's RBAC alone.
# (`kubectl config set` cannot write the user's "as" field, hence sed.)
sed "/^  user:\$/a\\    as: $SA" "$KUBECONFIG" >"$WORK/sa-kubeconfig"
[[ "$(KUBECONFIG="$WORK/sa-kubeconfig" k auth whoami -o jsonpath='{.status.userInfo.username}')" == "$SA" ]] ||
  fail "the impersonating kubeconfig does not act as $SA"

# run_operator LOG: runs the manager with the installed release's arguments, changed only
# where this machine differs from a pod: the stand-in API and its CA, the Lease's namespace
# (in a pod it is the pod's own), and no metrics or probe listeners.
run_operator() {
  local args
  "$HELM" get manifest xdb --namespace "$NS" >"$WORK/release.yaml"
  mapfile -t args < <("$CHART_TOOL" flags -print -manifests "$WORK/release.yaml")
  echo "manager ${args[*]}"
  KUBECONFIG="$WORK/sa-kubeconfig" "$WORK/manager" "${args[@]}" \
    --xpander-api-url="$(cat "$WORK/standin-url.txt")" --xpander-ca-file="$WORK/standin-ca.pem" \
    --leader-election-namespace="$NS" --metrics-bind-address=0 --health-probe-bind-address=0 \
    >"$WORK/$1" 2>&1 &
  operator_pid=$!
  pids+=("$operator_pid")
}
stop_operator() {
  kill "$operator_pid"
  wait "$operator_pid" || true
  if grep -i forbidden "$WORK/$1"; then fail "the operator was refused something (log above)"; fi
  grep -qi 'successfully acquired lease' "$WORK/$1" || fail "the operator never led; log: $(tail -5 "$WORK/$1")"
}
wait_ready() { # NAMESPACE
  k wait --for=condition=Ready "xpanderdatabase/xpander-db" -n "$1" --timeout=90s ||
    { k get xpanderdatabase xpander-db -n "$1" -o yaml; tail -20 "$WORK/operator-"*.log; fail "not Ready in $1"; }
  k get secret xpander-db-connection -n "$1" -o jsonpath='{.metadata.name} holds {.data}' |
    sed 's/"[^"]*":"[^"]*"/<entry>/g'
  echo
}

k auth can-i list secrets --all-namespaces --as="$SA"
run_operator operator-cluster.log
wait_ready team-a
stop_operator operator-cluster.log
echo "synced team-a/xpander-db with the cluster-wide binding"

step "the same with rbac.namespaced: RoleBindings in team-a and team-b only"
"$HELM" upgrade xdb "$CHART" --namespace "$NS" --set 'watch.namespaces={team-a,team-b}' \
  --set rbac.namespaced=true >/dev/null
! k get clusterrolebinding xdb-xpander-db-operator-manager >/dev/null 2>&1 ||
  fail "the manager's ClusterRoleBinding outlived rbac.namespaced=true"
! k auth can-i list secrets --all-namespaces --as="$SA" || fail "the ServiceAccount still reads Secrets everywhere"
k auth can-i list secrets --namespace team-b --as="$SA"
k apply --server-side -n team-b -f "$ROOT/config/samples/database_v1alpha1_xpanderdatabase.yaml"
run_operator operator-namespaced.log
wait_ready team-b
stop_operator operator-namespaced.log
echo "synced team-b/xpander-db with RoleBindings only"

echo
echo "cluster checks passed"
