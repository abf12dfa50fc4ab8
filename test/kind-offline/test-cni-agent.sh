#!/bin/bash
# Unit test of the default CNI's scripts, without Docker or a cluster: fake
# kubectl, ip, iptables and uname on PATH record what the scripts ask for.
#   1. node/files/usr/local/bin/labgrader-cni-config: waits for the node's
#      podCIDR, writes a conflist for exactly that subnet; leaves an existing
#      config alone; refuses a non-IPv4 subnet;
#   2. cni/labgrader-cni: routes to the other nodes' subnets (realm and proto
#      108), none to its own, none for nodes without a subnet or IPv4
#      address; nothing redone when nothing changed; a route removed when its
#      node is gone; nothing removed when the API cannot be read; the
#      NetworkPolicy hook (NFQUEUE with bypass for the node's subnet, after
#      skipping established traffic and root's own); DNS left out of the hook
#      on kernels before 6.12;
#   3. the pieces agree: the realm in the node's egress guard, the image
#      placeholder and kind's patch marker in default-cni.yaml.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
ko() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then ok "$what"; else ko "$what"; fi
}

mkdir -p "$T/bin"
export PATH="$T/bin:$PATH" FAKE="$T"
# kubectl: prints $FAKE/kubectl.out.N for the N-th call (the last one again
# when there are no more); fails if that file is named *.fail.
cat >"$T/bin/kubectl" <<'F'
#!/bin/bash
n=$(($(cat "$FAKE/kubectl.calls" 2>/dev/null || echo 0) + 1))
echo "$n" >"$FAKE/kubectl.calls"
echo "$*" >>"$FAKE/kubectl.args"
f=""
for ((i = n; i >= 1; i--)); do
  for c in "$FAKE/kubectl.out.$i" "$FAKE/kubectl.out.$i.fail"; do [ -e "$c" ] && { f=$c; break 2; }; done
done
case "$f" in
  *.fail) cat "$f" >&2; exit 1 ;;
  "") exit 1 ;;
  *) cat "$f" ;;
esac
F
# ip: a route table in $FAKE/routes ("CIDR GW" lines); calls logged.
cat >"$T/bin/ip" <<'F'
#!/bin/bash
echo "ip $*" >>"$FAKE/ip.log"
touch "$FAKE/routes"
[ "$1" = -4 ] && shift
case "$1 $2" in
  "route show")
    if [ "$3" = exact ]; then awk -v c="$4" '$1 == c {print $1 " via " $2 " dev eth0 proto 108 realm 108"}' "$FAKE/routes"
    else awk '{print $1 " via " $2 " dev eth0 proto 108 realm 108"}' "$FAKE/routes"; fi ;;
  "route replace") awk -v c="$3" '$1 != c' "$FAKE/routes" >"$FAKE/r"; echo "$3 $5" >>"$FAKE/r"; mv "$FAKE/r" "$FAKE/routes" ;;
  "route del") awk -v c="$3" '$1 != c' "$FAKE/routes" >"$FAKE/r"; mv "$FAKE/r" "$FAKE/routes" ;;
esac
F
cat >"$T/bin/iptables" <<'F'
#!/bin/bash
echo "iptables $*" >>"$FAKE/iptables.log"
case " $* " in *" -C "*|*" -N "*) exit 1 ;; esac
exit 0
F
cat >"$T/bin/uname" <<'F'
#!/bin/bash
echo "${FAKE_KERNEL:-6.18.0}"
F
chmod +x "$T"/bin/*
reset_fakes() { rm -f "$T"/kubectl.* "$T"/ip.log "$T"/iptables.log; }

# ---- 1. labgrader-cni-config --------------------------------------------------
CFG=$HERE/node/files/usr/local/bin/labgrader-cni-config
export LABGRADER_CNI_CONF_DIR=$T/net.d LABGRADER_KUBELET_CONF=$T/kubelet.conf LABGRADER_CNI_POLL_SECONDS=0 NODE_NAME=n2
echo "apiVersion: v1" >"$T/kubelet.conf"
reset_fakes
: >"$T/kubectl.out.1"                       # no podCIDR yet
echo "Error from server (NotFound)" >"$T/kubectl.out.2.fail"
printf '10.244.1.0/24' >"$T/kubectl.out.3"
bash "$CFG" 2>"$T/cfg.err"
conf=$T/net.d/10-labgrader-ptp.conflist
check "config: written once the node has a podCIDR (after $(cat "$T/kubectl.calls") reads)" [ "$(cat "$T/kubectl.calls")" = 3 ]
check "config: read the node's own Node with the kubelet's kubeconfig" \
  grep -q -- "--kubeconfig $T/kubelet.conf --request-timeout=5s get node n2 -o jsonpath={.spec.podCIDR}" "$T/kubectl.args"
check "config: valid JSON, ptp + host-local for exactly 10.244.1.0/24, then portmap" \
  test "$(jq -c '[.plugins[0].type, .plugins[0].ipam.type, .plugins[0].ipam.ranges, .plugins[1].type]' "$conf")" = \
  '["ptp","host-local",[[{"subnet":"10.244.1.0/24"}]],"portmap"]'
check "config: no temporary file left" [ ! -e "$conf.tmp" ]
reset_fakes
printf '10.244.9.0/24' >"$T/kubectl.out.1"
bash "$CFG" 2>/dev/null
check "config: an existing config is left alone, the API not asked" \
  [ ! -e "$T/kubectl.calls" ] && grep -q '"subnet": "10.244.1.0/24"' "$conf"
rm -rf "$T/net.d"; reset_fakes
printf 'fd00:10:244:1::/64' >"$T/kubectl.out.1"
rc=0; bash "$CFG" 2>/dev/null || rc=$?
check "config: a non-IPv4 subnet is refused (exit 1, no config)" [ "$rc" = 1 ] && [ ! -e "$conf" ]
unset LABGRADER_CNI_CONF_DIR LABGRADER_KUBELET_CONF LABGRADER_CNI_POLL_SECONDS

# ---- 2. labgrader-cni ----------------------------------------------------------
# shellcheck source=cni/labgrader-cni
NODE_NAME=n1 source "$HERE/cni/labgrader-cni"
set +e
nodes() { printf '%s\n' "$@" >"$T/kubectl.out.1"; rm -f "$T/kubectl.calls"; }
reset_fakes; rm -f "$T/routes"
nodes $'n1\t10.244.0.0/24\t172.18.0.2 fc00::2 ' $'n2\t10.244.1.0/24\tfc00::3 172.18.0.3 ' $'n3\t10.244.2.0/24\t172.18.0.4 ' \
  $'n4\t\t172.18.0.5 ' $'n5\t10.244.5.0/24\tfc00::6 '
sync_routes 2>/dev/null
check "routes: listed the nodes' names, podCIDRs and InternalIPs" \
  grep -q 'get nodes -o jsonpath={range .items\[\*\]}{.metadata.name}.*{.spec.podCIDR}.*InternalIP' "$T/kubectl.args"
check "routes: the other nodes' subnets via their IPv4 addresses, realm and proto 108" \
  test "$(grep 'route replace' "$T/ip.log" | sort | tr '\n' '|')" = \
  "ip -4 route replace 10.244.1.0/24 via 172.18.0.3 realm 108 proto 108|ip -4 route replace 10.244.2.0/24 via 172.18.0.4 realm 108 proto 108|"
check "routes: none to its own subnet, a node without podCIDR or without an IPv4 address" \
  test "$(grep -c 'route replace' "$T/ip.log")" = 2
check "routes: its own subnet remembered for the hook" [ "$OWN_CIDR" = 10.244.0.0/24 ]
: >"$T/ip.log"; rm -f "$T/kubectl.calls"
sync_routes 2>/dev/null
check "routes: nothing replaced or deleted when nothing changed" \
  test "$(grep -c 'route replace\|route del' "$T/ip.log")" = 0
: >"$T/ip.log"
nodes $'n1\t10.244.0.0/24\t172.18.0.2 ' $'n2\t10.244.1.0/24\t172.18.0.7 '
sync_routes 2>/dev/null
check "routes: a node gone -> its route deleted; a node's new address -> its route replaced" \
  test "$(grep 'route replace\|route del' "$T/ip.log" | tr '\n' '|')" = \
  "ip -4 route replace 10.244.1.0/24 via 172.18.0.7 realm 108 proto 108|ip -4 route del 10.244.2.0/24 proto 108|"
: >"$T/ip.log"; rm -f "$T"/kubectl.out.* "$T/kubectl.calls"
echo "Unable to connect to the server" >"$T/kubectl.out.1.fail"
sync_routes 2>/dev/null; rc=$?
check "routes: API unreachable -> nothing deleted, sync reports failure" \
  [ "$rc" = 1 ] && [ "$(grep -c 'route del' "$T/ip.log")" = 0 ] && grep -q '^10.244.1.0/24 ' "$T/routes"

: >"$T/iptables.log"
FAKE_KERNEL=6.18.44-fc hook 10.244.0.0/24 2>/dev/null
rules=$(grep -- '-A LABGRADER-NETPOL' "$T/iptables.log" | sed 's/^iptables -w -t mangle -A LABGRADER-NETPOL //' | tr '\n' '|')
check "hook: skip established and root's own traffic, then NFQUEUE 98 with bypass from/to the node's subnet" \
  test "$rules" = "-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN|-m owner --uid-owner 0 -j RETURN|-s 10.244.0.0/24 -j NFQUEUE --queue-num 98 --queue-bypass|-d 10.244.0.0/24 -j NFQUEUE --queue-num 98 --queue-bypass|"
check "hook: jumped to first from mangle POSTROUTING" grep -q -- '-t mangle -I POSTROUTING 1 -j LABGRADER-NETPOL' "$T/iptables.log"
: >"$T/iptables.log"
FAKE_KERNEL=6.18.44-fc hook 10.244.0.0/24 2>/dev/null
check "hook: the chain is not rebuilt when the subnet is unchanged" test "$(grep -c -- '-A LABGRADER-NETPOL' "$T/iptables.log")" = 0
HOOKED_CIDR=""; : >"$T/iptables.log"
FAKE_KERNEL=6.1.0-28-amd64 hook 10.244.0.0/24 2>/dev/null
check "hook: kernels before 6.12 keep DNS out of the queue" \
  grep -q -- '-A LABGRADER-NETPOL -p udp --dport 53 -j RETURN' "$T/iptables.log"
set -e

# ---- 3. the pieces agree -------------------------------------------------------
entry_realm=$(sed -n 's/^POD_ROUTE_REALM=\([0-9]*\)$/\1/p' "$HERE/node/files/usr/local/bin/entrypoint")
check "the node's egress guard admits the agent's route realm ($REALM)" [ "$entry_realm" = "$REALM" ]
check "the node's egress guard has the realm rule" \
  grep -q -- '-A LABGRADER-EGRESS -m realm --realm "$POD_ROUTE_REALM" -j RETURN' "$HERE/node/files/usr/local/bin/entrypoint"
manifest=$HERE/node/files/kind/manifests/default-cni.yaml
check "default-cni.yaml: kind's patch marker (CONTROL_PLANE_ENDPOINT) and the image placeholder" \
  grep -q 'would you kindly patch this file' "$manifest" && grep -q 'image: @CNI_IMAGE@' "$manifest"
check "default-cni.yaml: no template marker (kind would run it through text/template)" \
  bash -c '! grep -q "would you kindly template this file" "$1"' _ "$manifest"
check "no static CNI config in the node image" [ ! -e "$HERE/node/files/etc/cni/net.d/10-labgrader-ptp.conflist" ]

echo "cni-agent: $pass passed, $fail failed"
[ "$fail" = 0 ]
