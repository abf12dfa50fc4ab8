#!/bin/bash
# smoke-multinode.sh: the multi-node end-to-end check against a REAL kind
# cluster built offline by build.sh (`npm run test:cluster` runs it after
# smoke.sh). It checks the node image's default CNI: routes between nodes and
# NetworkPolicy enforcement (see cni/labgrader-cni).
#
#   1. kind create cluster: unique name, our node image, a control plane and
#      two workers, the default CNI (disableDefaultCNI left false);
#   2. every node Ready with its own pod subnet; kube-proxy, labgrader-cni
#      and CoreDNS ready; on every node: a CNI config for exactly its subnet,
#      routes to the other nodes' subnets, the egress guard and the
#      NetworkPolicy hook;
#   3. kind load docker-image <lab85 app image>; namespace lab85 + Secret;
#      kubectl apply -f examples/lab-85-passing/k8s/;
#   4. the Deployment Available, its pods spread over both workers, every
#      pod address unique and inside its node's subnet;
#   5. client pods (namespace lg-probe, the CNI image) on the control plane
#      and on a worker: pod-to-pod to web pods on OTHER nodes, and the
#      Service by its DNS name, answered by pods on both workers;
#   6. NetworkPolicy: the lab's policies deny port 9090 (metrics) from
#      lg-probe (while the node, as root, still gets an answer: the port is
#      open) and deny a lab85 pod any egress but DNS; after adding a policy
#      that admits lg-probe on 9090, the same request is answered;
#   7. kubectl drain of the worker without the client pod: the web pods are
#      rescheduled on the other worker, all Ready, and the Service answers
#      from both client pods;
#   8. kind delete cluster, and no container of the cluster is left (from the
#      EXIT trap, so it also runs when a check failed; diagnostics first).
#
# Exit codes: 0 all checks passed; 1 a check failed (the FAIL line says
#             which); 77 prerequisites missing: nothing ran.
# Last line on stdout: `smoke-multinode: N passed, N failed` (or, for 77,
# `kind-offline smoke-multinode: NOT RUN (prerequisites missing)` on stderr).
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
PROBE_NS=lg-probe
CLUSTER=lg-multi-$(date +%H%M%S)-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
CP=$CLUSTER-control-plane W1=$CLUSTER-worker W2=$CLUSTER-worker2
NODES="$CP $W1 $W2"
WORK=$(mktemp -d /tmp/kind-offline-smoke-multinode.XXXXXX)
export KUBECONFIG=$WORK/kubeconfig

T0=$SECONDS
TIMES=() PASSED=0 FAILED=0 CREATED=0

log() { printf '[smoke-multinode %s] %s\n' "$(date +%T)" "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); printf '[smoke-multinode %s] PASS %s\n' "$(date +%T)" "$*" >&2; }
fail() {
  FAILED=$((FAILED + 1))
  printf '\n[smoke-multinode %s] FAIL %s\n\n' "$(date +%T)" "$*" >&2
  exit 1
}
k() { "$KUBECTL" "$@"; }
# Runs a command in a client pod: ns pod cmd...
in_pod() { local ns=$1 pod=$2; shift 2; k -n "$ns" exec "$pod" -- "$@"; }
# curl from a client pod; prints the body; curl's exit code.
pod_curl() { local ns=$1 pod=$2 url=$3 max=${4:-5}; in_pod "$ns" "$pod" curl -sS --max-time "$max" "$url"; }
web_pods() { # "name ip node" for each web pod that has an address and is not terminating
  k -n "$NS" get pods -l app.kubernetes.io/name=web \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.podIP}{" "}{.spec.nodeName}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' |
    awk 'NF == 3'
}

diagnostics() {
  local n
  log "---- diagnostics ----"
  k get nodes -o wide 2>&1 | sed 's/^/  /' >&2 || true
  k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" podCIDR="}{.spec.podCIDR}{"\n"}{end}' 2>&1 | sed 's/^/  /' >&2 || true
  k get pods -A -o wide 2>&1 | sed 's/^/  /' >&2 || true
  k -n "$NS" get deploy,rs,pods,svc,endpointslices,networkpolicies,events 2>&1 | tail -40 | sed 's/^/  /' >&2 || true
  k -n kube-system logs daemonset/labgrader-cni --all-containers --tail=30 2>&1 | sed 's/^/  labgrader-cni: /' >&2 || true
  for n in $NODES; do
    docker exec "$n" sh -c 'ip -4 route; cat /etc/cni/net.d/*.conflist 2>/dev/null | grep subnet; iptables -w -S LABGRADER-EGRESS; iptables -w -t mangle -S LABGRADER-NETPOL' 2>&1 |
      sed "s/^/  $n: /" >&2 || true
    docker exec "$n" journalctl -u kubelet -u labgrader-cni-config --no-pager 2>&1 | tail -15 | sed "s/^/  $n journal: /" >&2 || true
  done
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
      printf '[smoke-multinode] FAIL containers left behind after kind delete cluster: %s\n' "$left" >&2
      # shellcheck disable=SC2086
      docker rm -f -v $left >/dev/null 2>&1 || true
      FAILED=$((FAILED + 1)); rc=1
    else
      [ "$rc" = 0 ] && pass "kind delete cluster left no containers behind"
    fi
  fi
  rm -rf "$WORK"
  TIMES+=("total=$((SECONDS - T0))")
  echo >&2
  echo "kind-offline smoke-multinode timings (s): ${TIMES[*]}" >&2
  if [ "$rc" = 77 ]; then
    echo "kind-offline smoke-multinode: NOT RUN (prerequisites missing)" >&2
  else
    echo "smoke-multinode: $PASSED passed, $FAILED failed"
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
# networking.disableDefaultCNI stays false: kind applies the node image's
# /kind/manifests/default-cni.yaml (routes between nodes, NetworkPolicy).
nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
log "creating cluster $CLUSTER (1 control plane, 2 workers) with $NODE_IMAGE"
CREATED=1
t=$SECONDS
if ! "$KIND" create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --config "$WORK/kind.yaml" \
    --kubeconfig "$KUBECONFIG" --retain --wait 240s; then
  TIMES+=("create=$((SECONDS - t))")
  fail "kind create cluster failed"
fi
TIMES+=("create=$((SECONDS - t))")
pass "kind create cluster, 3 nodes ($((SECONDS - t)) s)"

# ---- 2. nodes, add-ons, per-node network -------------------------------------
t=$SECONDS
k wait --for=condition=Ready node --all --timeout=180s >/dev/null || fail "not every node is Ready"
n=$(k get nodes --no-headers | wc -l)
[ "$n" = 3 ] || fail "expected 3 nodes, found $n"
pass "3 nodes Ready"
k -n kube-system rollout status daemonset/kube-proxy --timeout=180s >&2 || fail "kube-proxy DaemonSet not ready"
k -n kube-system rollout status daemonset/labgrader-cni --timeout=180s >&2 || fail "labgrader-cni DaemonSet (the default CNI) not ready"
k -n kube-system rollout status deployment/coredns --timeout=180s >&2 || fail "CoreDNS Deployment not ready"
TIMES+=("addons=$((SECONDS - t))")
pass "kube-proxy, labgrader-cni and CoreDNS ready"

declare -A CIDR=() NODE_IP=()
while read -r name cidr ip; do CIDR[$name]=$cidr NODE_IP[$name]=$ip; done < <(
  k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
for n in $NODES; do [ -n "${CIDR[$n]:-}" ] || fail "node $n has no pod subnet (spec.podCIDR)"; done
distinct=$(printf '%s\n' "${CIDR[@]}" | sort -u | wc -l)
[ "$distinct" = 3 ] || fail "pod subnets are not distinct: ${CIDR[*]}"
pass "each node has its own pod subnet: $(for n in $NODES; do printf '%s=%s ' "${n#"$CLUSTER"-}" "${CIDR[$n]}"; done)"

for n in $NODES; do
  conf=$(docker exec "$n" cat /etc/cni/net.d/10-labgrader-ptp.conflist 2>/dev/null) || fail "node $n has no CNI config"
  echo "$conf" | grep -q "\"subnet\": \"${CIDR[$n]}\"" || fail "node $n's CNI config is not for its subnet ${CIDR[$n]}: $conf"
done
pass "every node's CNI config hands out addresses from its own subnet only"

ok=0
for i in $(seq 1 30); do
  ok=1
  for n in $NODES; do
    routes=$(docker exec "$n" ip -4 route show proto 108)
    for m in $NODES; do
      [ "$m" = "$n" ] && continue
      echo "$routes" | grep -q "^${CIDR[$m]} via ${NODE_IP[$m]} .*realm 108" || ok=0
    done
  done
  [ "$ok" = 1 ] && break
  sleep 2
done
[ "$ok" = 1 ] || fail "the nodes do not all have routes to the other nodes' pod subnets"
pass "every node routes the other nodes' pod subnets via their addresses"

for n in $NODES; do
  guard=$(docker exec "$n" iptables -w -S LABGRADER-EGRESS 2>/dev/null) || fail "node $n: no egress guard"
  echo "$guard" | grep -q REJECT || fail "node $n: the egress guard rejects nothing"
  echo "$guard" | grep -q -- '--realm 0x6c' || fail "node $n: the egress guard does not admit the CNI's routes (realm 108)"
  docker exec "$n" iptables -w -t mangle -S LABGRADER-NETPOL 2>/dev/null | grep -q "NFQUEUE.*${CIDR[$n]}\|${CIDR[$n]}.*NFQUEUE" ||
    fail "node $n: the NetworkPolicy hook (mangle LABGRADER-NETPOL) is missing"
done
pass "every node has its egress guard and the NetworkPolicy hook"

# ---- 3. the lab ---------------------------------------------------------------
t=$SECONDS
"$KIND" load docker-image "$APP_IMAGE" --name "$CLUSTER" >&2 || fail "kind load docker-image $APP_IMAGE failed"
TIMES+=("load=$((SECONDS - t))")
pass "kind load docker-image $APP_IMAGE (3 nodes)"
t=$SECONDS
k apply -f "$LAB_DIR/namespace.yaml" >&2 || fail "apply namespace.yaml"
k -n "$NS" create secret generic web-secrets \
  --from-literal=api-token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >&2 || fail "create secret web-secrets"
k apply -f "$LAB_DIR/" >&2 || fail "kubectl apply -f $LAB_DIR"

# ---- 4. Deployment Available, spread over the workers ------------------------
k -n "$NS" rollout status deploy/web --timeout=180s >&2 || fail "Deployment web did not roll out"
k -n "$NS" wait --for=condition=Available deploy/web --timeout=60s >/dev/null || fail "Deployment web not Available"
want=$(k -n "$NS" get deploy web -o jsonpath='{.spec.replicas}')
ready=$(k -n "$NS" get deploy web -o jsonpath='{.status.readyReplicas}')
[ "$want" = "$ready" ] && [ "$want" -ge 2 ] || fail "Deployment web: $ready/$want replicas ready"
TIMES+=("deploy-ready=$((SECONDS - t))")
pods=$(web_pods)
echo "$pods" | sed 's/^/  web: /' >&2
on_nodes=$(echo "$pods" | awk '{print $3}' | sort -u | tr '\n' ' ')
[ "$on_nodes" = "$W1 $W2 " ] || fail "web pods are not spread over both workers (on: $on_nodes)"
spread=$(echo "$pods" | awk '{print $3}' | sed "s/^$CLUSTER-//" | sort | uniq -c | awk '{printf "%s%s: %s", sep, $2, $1; sep=", "}')
while read -r pod ip node; do
  in_cidr=$(docker exec "$node" ip -4 route get "$ip" 2>/dev/null | grep -c "dev veth" || true)
  [ "$in_cidr" = 1 ] || fail "pod $pod ($ip) is not on a local veth of its node $node"
  prefix=${CIDR[$node]%.*/*}
  [[ "$ip" == "$prefix".* ]] || fail "pod $pod has $ip, outside its node's subnet ${CIDR[$node]}"
done <<<"$pods"
dups=$(k get pods -A -o jsonpath='{range .items[?(@.spec.hostNetwork!=true)]}{.status.podIP}{"\n"}{end}' | sed '/^$/d' | sort | uniq -d)
[ -z "$dups" ] || fail "pod addresses used twice in the cluster: $dups"
pass "Deployment web Available, $ready/$want Ready, on both workers ($spread); pod addresses unique, each in its node's subnet"

# ---- 5. client pods; pod-to-pod and Service across nodes ---------------------
client_pod() { # name namespace node [restricted]
  local sc=""
  if [ "${4:-}" = restricted ]; then
    sc='
  securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}'
  fi
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $2
  labels: {app.kubernetes.io/name: lg-probe}
spec:
  nodeName: $3
  terminationGracePeriodSeconds: 0
  automountServiceAccountToken: false$sc
  containers:
    - name: client
      image: $CNI_IMAGE
      imagePullPolicy: Never
      command: ["sleep", "infinity"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ["ALL"]}}
      resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
---
EOF
}
k create namespace "$PROBE_NS" >&2 || fail "create namespace $PROBE_NS"
{
  client_pod client-cp "$PROBE_NS" "$CP"
  client_pod client-w "$PROBE_NS" "$W2"
  client_pod client-lab "$NS" "$W2" restricted
} >"$WORK/clients.yaml"
k apply -f "$WORK/clients.yaml" >&2 || fail "create the client pods"
k -n "$PROBE_NS" wait --for=condition=Ready pod/client-cp pod/client-w --timeout=120s >&2 || fail "client pods not Ready"
k -n "$NS" wait --for=condition=Ready pod/client-lab --timeout=120s >&2 || fail "client pod $NS/client-lab not Ready"
pass "client pods Ready: $PROBE_NS/client-cp on the control plane, $PROBE_NS/client-w and $NS/client-lab on ${W2#"$CLUSTER"-}"

t=$SECONDS
pairs=0
while read -r pod ip node; do
  for client in client-cp client-w; do
    cnode=$(k -n "$PROBE_NS" get pod "$client" -o jsonpath='{.spec.nodeName}')
    [ "$cnode" = "$node" ] && continue
    body=$(pod_curl "$PROBE_NS" "$client" "http://$ip:8080/") || fail "pod-to-pod: $client (${cnode#"$CLUSTER"-}) -> $pod $ip:8080 (${node#"$CLUSTER"-}) failed"
    echo "$body" | grep -q "\"pod\":\"$pod\"" || fail "pod-to-pod: unexpected answer from $ip: $body"
    log "  $client (${cnode#"$CLUSTER"-}) -> $pod (${node#"$CLUSTER"-}) $ip:8080: $body"
    pairs=$((pairs + 1))
  done
done <<<"$pods"
[ "$pairs" -ge 3 ] || fail "only $pairs cross-node pod-to-pod pairs were tested"
pass "pod-to-pod across nodes: $pairs client/pod pairs on different nodes answered (control plane -> workers, worker -> worker)"

declare -A POD_NODE=()
while read -r pod _ node; do POD_NODE[$pod]=$node; done <<<"$pods"
# 24 requests in one exec: the pod's own resolver and kube-proxy's rules on its node.
answers=$(in_pod "$PROBE_NS" client-w bash -c \
  "for i in \$(seq 1 24); do curl -sS --max-time 5 http://web.$NS.svc.cluster.local/ || echo 'request failed'; echo; done") ||
  fail "Service web by DNS name from client-w failed"
seen_nodes=""
while read -r body; do
  [ -n "$body" ] || continue
  echo "$body" | grep -q '"message":"hello from lab 85"' || fail "unexpected Service answer: $body"
  p=$(echo "$body" | sed -n 's/.*"pod":"\([^"]*\)".*/\1/p')
  seen_nodes+=" ${POD_NODE[$p]:-?}"
done <<<"$answers"
[ "$(echo "$seen_nodes" | wc -w)" = 24 ] || fail "expected 24 answers from the Service, got: $answers"
seen=$(echo "$seen_nodes" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
[ "$seen" = "$W1 $W2 " ] || fail "the Service's answers did not come from pods on both workers (from: $seen)"
body=$(pod_curl "$PROBE_NS" client-cp "http://web.$NS.svc.cluster.local/") || fail "Service web from the control plane's client failed"
TIMES+=("traffic=$((SECONDS - t))")
pass "Service web.$NS.svc.cluster.local (CoreDNS on the control plane) answers from the worker and the control plane, served by pods on both workers"

# ---- 6. NetworkPolicy -----------------------------------------------------------
t=$SECONDS
read -r tpod tip tnode < <(echo "$pods" | awk -v n="$W1" '$3 == n' | head -1)
metrics=$(docker exec "$tnode" curl -sS --max-time 5 "http://$tip:9090/metrics") || fail "the node could not read $tpod's metrics on $tip:9090 (the port should be open)"
echo "$metrics" | grep -q '^web_ready 1' || fail "unexpected metrics from $tip:9090: $metrics"
rc=0; pod_curl "$PROBE_NS" client-w "http://$tip:9090/metrics" 4 >/dev/null 2>&1 || rc=$?
[ "$rc" = 28 ] || fail "NetworkPolicy: $PROBE_NS/client-w -> $tpod:9090 should time out (dropped by the lab's default-deny; only namespace monitoring may scrape), curl exit $rc"
pass "NetworkPolicy denies: $PROBE_NS/client-w (${W2#"$CLUSTER"-}) -> $tpod:9090 (${tnode#"$CLUSTER"-}) dropped (curl exit 28), while the node itself reads the metrics"
in_pod "$NS" client-lab getent hosts "web.$NS.svc.cluster.local" >/dev/null ||
  fail "NetworkPolicy: $NS/client-lab cannot resolve web.$NS (the lab's default-deny allows DNS)"
rc=0; body=$(pod_curl "$NS" client-lab "http://web.$NS.svc.cluster.local/" 4 2>&1) || rc=$?
[ "$rc" = 28 ] || fail "NetworkPolicy: egress from $NS/client-lab to the Service should time out (default-deny allows DNS only), curl exit $rc: $body"
pass "NetworkPolicy denies egress: $NS/client-lab resolves web.$NS (DNS allowed) but its connection is dropped (curl exit 28)"

cat >"$WORK/allow.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: smoke-allow-lg-probe-metrics
  namespace: $NS
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: web
  policyTypes: ["Ingress"]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: $PROBE_NS
      ports:
        - protocol: TCP
          port: 9090
EOF
k apply -f "$WORK/allow.yaml" >&2 || fail "apply the allowing NetworkPolicy"
ok=0
for i in $(seq 1 20); do
  if body=$(pod_curl "$PROBE_NS" client-w "http://$tip:9090/metrics" 3 2>/dev/null) && echo "$body" | grep -q '^web_ready 1'; then ok=1; break; fi
  sleep 1
done
[ "$ok" = 1 ] || fail "NetworkPolicy: after admitting $PROBE_NS on 9090, client-w still cannot read $tpod's metrics"
TIMES+=("netpol-allow=$((SECONDS - t))")
pass "NetworkPolicy allows: with smoke-allow-lg-probe-metrics, $PROBE_NS/client-w reads $tpod's metrics across nodes"
rc=0; pod_curl "$NS" client-lab "http://web.$NS.svc.cluster.local/" 3 >/dev/null 2>&1 || rc=$?
[ "$rc" = 28 ] || fail "NetworkPolicy: $NS/client-lab's egress should still be denied, curl exit $rc"
pass "NetworkPolicy: the lab's egress default-deny still holds for $NS/client-lab"

# ---- 7. drain a worker ----------------------------------------------------------
# client-w and client-lab are on worker2 (bare pods would block the drain): drain worker1.
before=$(echo "$pods" | awk -v n="$W1" '$3 == n {printf "%s%s", sep, $1; sep=" "}')
log "draining ${W1#"$CLUSTER"-} (web pods there: $before)"
t=$SECONDS
k drain "$W1" --ignore-daemonsets --delete-emptydir-data --timeout=240s >&2 || fail "kubectl drain $W1 failed"
ok=0
for i in $(seq 1 90); do
  now=$(web_pods)
  r=$(k -n "$NS" get deploy web -o jsonpath='{.status.readyReplicas}')
  if [ "${r:-0}" = "$want" ] && [ "$(echo "$now" | awk 'NF' | wc -l)" = "$want" ] && ! echo "$now" | awk '{print $3}' | grep -qx "$W1"; then
    ok=1; break
  fi
  sleep 2
done
[ "$ok" = 1 ] || { echo "$now" >&2; fail "after the drain, the web pods did not all become Ready on ${W2#"$CLUSTER"-}"; }
TIMES+=("drain=$((SECONDS - t))")
echo "$now" | sed 's/^/  web: /' >&2
for p in $before; do echo "$now" | grep -q "^$p " && fail "pod $p of the drained node is still there"; done
pass "kubectl drain ${W1#"$CLUSTER"-}: its pods ($before) rescheduled; $want/$want Ready, all on ${W2#"$CLUSTER"-} ($((SECONDS - t)) s)"
[ "$(k get node "$W1" -o jsonpath='{.spec.unschedulable}')" = true ] || fail "$W1 is not cordoned after the drain"
for client in client-w client-cp; do
  body=$(pod_curl "$PROBE_NS" "$client" "http://web.$NS.svc.cluster.local/") || fail "the Service stopped answering $client after the drain"
  echo "$body" | grep -q '"message":"hello from lab 85"' || fail "unexpected Service answer after the drain: $body"
done
pass "the Service answers both client pods after the drain"

log "all checks passed; deleting the cluster"
exit 0
