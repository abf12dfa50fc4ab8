#!/bin/bash
# smoke.sh: the cluster stage's end-to-end check against a REAL kind cluster
# built offline by build.sh (this is what `npm run test:cluster` calls).
#
#   1. kind create cluster (unique name, our node image, one node,
#      disableDefaultCNI: true: the node writes its own CNI config for its pod
#      subnet; no routes between nodes, no NetworkPolicy. The node image's
#      default CNI, and several nodes, are smoke-multinode.sh's part)
#   2. kind load docker-image <lab85 app image>
#   3. namespace lab85 + the Secret the lab expects but does not commit
#   4. kubectl apply -f examples/lab-85-passing/k8s/
#   5. Deployment Available with all replicas Ready
#   6. the Service answers (curl of the ClusterIP from inside the node, so
#      the request goes through kube-proxy's Service rules)
#   7. kubectl delete pod: a new Ready pod replaces it
#   8. kind delete cluster, and no container of the cluster is left
# It also checks that the node's egress guard is in place (see the node's
# entrypoint), so no cluster traffic to private ranges leaves this machine.
# The cluster is deleted on every exit path (trap), and the check that no
# container is left runs then too.
#
# Exit codes: 0 all checks passed; 1 a check failed (message says which);
#             77 prerequisites missing (node image / tools not built): the
#             cluster test did NOT run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

KIND=$CACHE/bin/kind-$KIND_VERSION/kind
KUBECTL=$CACHE/k8s/$K8S_VERSION/bin/kubectl
NODE_IMAGE=${LABGRADER_KIND_NODE_IMAGE:-$NODE_IMAGE_REPO:$K8S_VERSION}
LAB_DIR=${LABGRADER_SMOKE_LAB_DIR:-$REPO/examples/lab-85-passing/k8s}
NS=lab85
CLUSTER=lg-smoke-$(date +%H%M%S)-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NODE=$CLUSTER-control-plane
WORK=$(mktemp -d /tmp/kind-offline-smoke.XXXXXX)
export KUBECONFIG=$WORK/kubeconfig

T0=$SECONDS
TIMES=() PASSED=0 FAILED=0 CREATED=0

log() { printf '[smoke %s] %s\n' "$(date +%T)" "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); printf '[smoke %s] PASS %s\n' "$(date +%T)" "$*" >&2; }
fail() {
  FAILED=$((FAILED + 1))
  printf '\n[smoke %s] FAIL %s\n\n' "$(date +%T)" "$*" >&2
  exit 1
}
timed() { # timed LABEL cmd...: run and record seconds
  local label=$1 t=$SECONDS; shift
  "$@"
  TIMES+=("$label=$((SECONDS - t))")
}
k() { "$KUBECTL" "$@"; }

diagnostics() {
  log "---- diagnostics ----"
  k get nodes -o wide 2>&1 | sed 's/^/  /' >&2 || true
  k get pods -A -o wide 2>&1 | sed 's/^/  /' >&2 || true
  k -n "$NS" get deploy,rs,pods,svc,endpoints,events 2>&1 | tail -40 | sed 's/^/  /' >&2 || true
  k -n "$NS" describe pods 2>&1 | tail -60 | sed 's/^/  /' >&2 || true
  docker logs "$NODE" 2>&1 | tail -20 | sed 's/^/  node: /' >&2 || true
  docker exec "$NODE" journalctl -u kubelet --no-pager 2>&1 | tail -30 | sed 's/^/  kubelet: /' >&2 || true
}

cleanup() {
  local rc=$? left
  trap - EXIT
  if [ "$CREATED" = 1 ]; then
    [ "$rc" = 0 ] || diagnostics
    local t=$SECONDS
    "$KIND" delete cluster --name "$CLUSTER" >&2 || log "kind delete cluster failed"
    TIMES+=("delete=$((SECONDS - t))")
    left=$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$CLUSTER")
    if [ -n "$left" ]; then
      printf '[smoke] FAIL containers left behind after kind delete cluster: %s\n' "$left" >&2
      docker rm -f -v $left >/dev/null 2>&1 || true
      FAILED=$((FAILED + 1)); rc=1
    else
      [ "$rc" = 0 ] && pass "kind delete cluster left no containers behind"
    fi
  fi
  rm -rf "$WORK"
  TIMES+=("total=$((SECONDS - T0))")
  echo >&2
  echo "kind-offline smoke timings (s): ${TIMES[*]}" >&2
  if [ "$rc" = 77 ]; then
    echo "kind-offline smoke: NOT RUN (prerequisites missing)" >&2
  else
    # Closing line in the form CI counts.
    echo "smoke: $PASSED passed, $FAILED failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites ----------------------------------------------------------
missing=""
[ -x "$KIND" ] || missing+=" kind($KIND)"
[ -x "$KUBECTL" ] || missing+=" kubectl($KUBECTL)"
docker info >/dev/null 2>&1 || missing+=" docker-engine(run test/kind-offline/docker-up.sh)"
if [ -z "$missing" ]; then
  docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || missing+=" node-image($NODE_IMAGE)"
  docker image inspect "$APP_IMAGE" >/dev/null 2>&1 || missing+=" app-image($APP_IMAGE)"
fi
if [ -n "$missing" ]; then
  log "prerequisites missing:$missing"
  log "run test/kind-offline/ci-setup.sh (or build.sh for a full build) first"
  exit 77
fi
[ -d "$LAB_DIR" ] || fail "lab manifests not found at $LAB_DIR"

# ---- 1. cluster -------------------------------------------------------------
cat >"$WORK/kind.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  # No default CNI (no DaemonSet): the node writes a ptp config for its own
  # pod subnet (labgrader-cni-config.service). One node needs no more.
  disableDefaultCNI: true
nodes:
  - role: control-plane
EOF
log "creating cluster $CLUSTER with $NODE_IMAGE"
CREATED=1
t=$SECONDS
if ! "$KIND" create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --config "$WORK/kind.yaml" \
    --kubeconfig "$KUBECONFIG" --retain --wait 180s; then
  TIMES+=("create=$((SECONDS - t))")
  fail "kind create cluster failed"
fi
TIMES+=("create=$((SECONDS - t))")
pass "kind create cluster ($((SECONDS - t)) s)"
k get nodes -o wide >&2
k wait --for=condition=Ready node --all --timeout=120s >/dev/null || fail "node not Ready"
cidr=$(k get node "$NODE" -o jsonpath='{.spec.podCIDR}')
docker exec "$NODE" cat /etc/cni/net.d/10-labgrader-ptp.conflist 2>/dev/null | grep -q "\"subnet\": \"$cidr\"" ||
  fail "the node's CNI config is not for its pod subnet '$cidr'"
pass "node Ready, its CNI config for its pod subnet $cidr"
# kind's --wait only waits for the node to be Ready, which with a baked CNI
# is almost at once: wait for the system add-ons too. kube-proxy matters:
# until its rules exist, a ClusterIP is just an address to route elsewhere.
t=$SECONDS
k -n kube-system rollout status daemonset/kube-proxy --timeout=180s >&2 || fail "kube-proxy DaemonSet not ready"
k -n kube-system rollout status deployment/coredns --timeout=180s >&2 || fail "CoreDNS Deployment not ready"
TIMES+=("addons=$((SECONDS - t))")
pass "kube-proxy and CoreDNS ready"
docker exec "$NODE" iptables -w -S LABGRADER-EGRESS 2>/dev/null | grep -q REJECT ||
  fail "the node's egress guard (LABGRADER-EGRESS) is missing: private-range traffic could leave the node"
pass "node egress guard in place"

# ---- 2. app image -----------------------------------------------------------
timed load "$KIND" load docker-image "$APP_IMAGE" --name "$CLUSTER" >&2 || fail "kind load docker-image $APP_IMAGE failed"
pass "kind load docker-image $APP_IMAGE"

# ---- 3/4. namespace, secret, manifests -------------------------------------
t=$SECONDS
k apply -f "$LAB_DIR/namespace.yaml" >&2 || fail "apply namespace.yaml"
k -n "$NS" create secret generic web-secrets \
  --from-literal=api-token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >&2 || fail "create secret web-secrets"
k apply -f "$LAB_DIR/" >&2 || fail "kubectl apply -f $LAB_DIR"

# ---- 5. Deployment Available, all pods Ready --------------------------------
k -n "$NS" rollout status deploy/web --timeout=180s >&2 || fail "Deployment web did not roll out"
k -n "$NS" wait --for=condition=Available deploy/web --timeout=60s >/dev/null || fail "Deployment web not Available"
want=$(k -n "$NS" get deploy web -o jsonpath='{.spec.replicas}')
ready=$(k -n "$NS" get deploy web -o jsonpath='{.status.readyReplicas}')
[ "$want" = "$ready" ] && [ "$want" -ge 1 ] || fail "Deployment web: $ready/$want replicas ready"
notready=$(k -n "$NS" get pods -l app.kubernetes.io/name=web -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2 != "True"')
[ -z "$notready" ] || fail "pods not Ready: $notready"
TIMES+=("deploy-ready=$((SECONDS - t))")
pass "Deployment web Available, $ready/$want pods Ready"

# ---- 6. the Service answers -------------------------------------------------
ip=$(k -n "$NS" get svc web -o jsonpath='{.spec.clusterIP}')
port=$(k -n "$NS" get svc web -o jsonpath='{.spec.ports[0].port}')
eps=$(k -n "$NS" get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' | grep -c true || true)
[ "$eps" = "$want" ] || fail "Service web has $eps ready endpoints, expected $want"
# Only send traffic to the ClusterIP once kube-proxy has programmed it on the
# node, so that it is DNATed to a pod and never leaves the node.
ok=0
for i in $(seq 1 60); do
  if docker exec "$NODE" iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q -- "-d $ip/32 .*--dport $port "; then ok=1; break; fi
  sleep 1
done
[ "$ok" = 1 ] || fail "kube-proxy did not program Service web ($ip:$port) on the node within 60 s"
pods_seen=""
for i in $(seq 1 12); do
  body=$(docker exec "$NODE" curl -fsS --max-time 5 "http://$ip:$port/") || fail "GET http://$ip:$port/ (Service web) failed"
  echo "$body" | grep -q '"message":"hello from lab 85"' || fail "unexpected Service answer: $body"
  pods_seen+=" $(echo "$body" | sed -n 's/.*"pod":"\([^"]*\)".*/\1/p')"
done
ready_body=$(docker exec "$NODE" curl -fsS --max-time 5 "http://$ip:$port/readyz") || fail "GET /readyz via Service failed"
[ "$ready_body" = ready ] || fail "unexpected /readyz answer: $ready_body"
distinct=$(echo "$pods_seen" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l)
pass "Service web ($ip:$port) answers: 12 requests served by $distinct distinct pod(s); /readyz ready"

# ---- 7. delete a pod, a new Ready pod replaces it ---------------------------
victim=$(k -n "$NS" get pods -l app.kubernetes.io/name=web -o jsonpath='{.items[0].metadata.name}')
log "deleting pod $victim"
t=$SECONDS
k -n "$NS" delete pod "$victim" --wait=true >&2 || fail "kubectl delete pod $victim"
ok=0
for i in $(seq 1 90); do
  lines=$(k -n "$NS" get pods -l app.kubernetes.io/name=web -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  live_ready=$(echo "$lines" | awk -v v="$victim" '$1 != v && NF == 2 && $2 == "True"' | wc -l)
  if [ "$live_ready" -ge "$want" ] && ! echo "$lines" | grep -q "^$victim "; then ok=1; break; fi
  sleep 2
done
[ "$ok" = 1 ] || { echo "$lines" >&2; fail "no Ready replacement for deleted pod $victim within 180 s"; }
TIMES+=("replace-pod=$((SECONDS - t))")
newpods=$(k -n "$NS" get pods -l app.kubernetes.io/name=web -o jsonpath='{.items[*].metadata.name}')
pass "pod $victim deleted and replaced ($((SECONDS - t)) s); pods now: $newpods"
body=$(docker exec "$NODE" curl -fsS --max-time 5 "http://$ip:$port/") || fail "Service stopped answering after the pod was replaced"
pass "Service still answers after the replacement"

log "all checks passed; deleting the cluster"
exit 0
