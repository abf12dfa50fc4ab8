/**
 * Packet filter rules in a kind node that keep the lab's pods inside the
 * cluster, whatever the CNI does with NetworkPolicy (kind's default CNI and
 * the offline build's ptp configuration enforce none).
 *
 * A kind node is a container on the grading host's Docker network: without
 * these rules, a pod reaches the grading host (the network's gateway), the
 * other kind clusters of the machine, 169.254.169.254 and the internet, and
 * the node's own ports (kubelet, etcd, controller-manager).
 *
 *  - FORWARD, from the pod network: only to the pod network itself (other
 *    pods, and Services, which kube-proxy has already translated to pods),
 *    and replies to connections made to the pod (a node probing a Service
 *    whose pod runs on another node);
 *  - INPUT, from the pod network to the node: replies to the node's own
 *    connections (probes, the Service prober) and the API server, which
 *    authenticates every request (CoreDNS needs it); nothing else.
 *
 * The rules are inserted first in their chains, so kube-proxy's own rules
 * (which accept established traffic and its marked packets) do not bypass
 * them for new connections.
 */
export const GUARD_CHAIN_FORWARD = 'LABGRADER-POD-EGRESS';
export const GUARD_CHAIN_INPUT = 'LABGRADER-POD-TO-NODE';
export const DEFAULT_POD_CIDR = '10.244.0.0/16';

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

export type NodeList = {
  items?: {
    spec?: { podCIDR?: string; podCIDRs?: string[] };
    status?: { addresses?: { type?: string; address?: string }[] };
  }[];
};

/** The nodes' InternalIP addresses (IPv4), from `kubectl get nodes -o json`. */
export function nodeIpsOf(nodes: NodeList): string[] {
  return (nodes.items ?? []).flatMap((n) =>
    (n.status?.addresses ?? [])
      .filter((a) => a.type === 'InternalIP' && typeof a.address === 'string' && IPV4.test(a.address))
      .map((a) => a.address!),
  );
}

/**
 * The shell script run in the node (`docker exec <node> sh -c …`); idempotent.
 * `nodeIps`: the cluster's nodes, whose API server port pods on other nodes
 * reach through FORWARD (a pod on a worker talking to the control plane).
 */
export function nodeGuardScript(
  podCidrs: readonly string[],
  nodeIps: readonly string[] = [],
  apiServerPort = 6443,
): string {
  const cidrs = podCidrs.filter((c) => CIDR.test(c));
  const apiServers = nodeIps.filter((ip) => IPV4.test(ip));
  if (cidrs.length === 0) throw new Error(`no IPv4 pod CIDR to guard (got ${podCidrs.join(', ') || 'none'})`);
  const lines = [
    'set -e',
    `iptables -w -N ${GUARD_CHAIN_FORWARD} 2>/dev/null || iptables -w -F ${GUARD_CHAIN_FORWARD}`,
    `iptables -w -N ${GUARD_CHAIN_INPUT} 2>/dev/null || iptables -w -F ${GUARD_CHAIN_INPUT}`,
    ...cidrs.map((c) => `iptables -w -A ${GUARD_CHAIN_FORWARD} -d ${c} -j RETURN`),
    ...apiServers.map(
      (ip) => `iptables -w -A ${GUARD_CHAIN_FORWARD} -d ${ip}/32 -p tcp --dport ${apiServerPort} -j RETURN`,
    ),
    // Replies to connections made to the pod from elsewhere (the Service prober on another node): never a new one.
    `iptables -w -A ${GUARD_CHAIN_FORWARD} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
    `iptables -w -A ${GUARD_CHAIN_FORWARD} -p tcp -j REJECT --reject-with tcp-reset`,
    `iptables -w -A ${GUARD_CHAIN_FORWARD} -j REJECT --reject-with icmp-admin-prohibited`,
    `iptables -w -A ${GUARD_CHAIN_INPUT} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
    `iptables -w -A ${GUARD_CHAIN_INPUT} -p tcp --dport ${apiServerPort} -j RETURN`,
    `iptables -w -A ${GUARD_CHAIN_INPUT} -p tcp -j REJECT --reject-with tcp-reset`,
    `iptables -w -A ${GUARD_CHAIN_INPUT} -j REJECT --reject-with icmp-admin-prohibited`,
    ...cidrs.flatMap((c) => [
      `iptables -w -C FORWARD -s ${c} -j ${GUARD_CHAIN_FORWARD} 2>/dev/null || iptables -w -I FORWARD 1 -s ${c} -j ${GUARD_CHAIN_FORWARD}`,
      `iptables -w -C INPUT -s ${c} -j ${GUARD_CHAIN_INPUT} 2>/dev/null || iptables -w -I INPUT 1 -s ${c} -j ${GUARD_CHAIN_INPUT}`,
    ]),
    `iptables -w -S ${GUARD_CHAIN_FORWARD} | grep -c REJECT`,
  ];
  return lines.join('\n');
}

/** Pod CIDRs from `kubectl get nodes -o json` (spec.podCIDRs, else spec.podCIDR), or kind's default. */
export function podCidrsOf(nodes: NodeList): string[] {
  const found = new Set<string>();
  for (const node of nodes.items ?? []) {
    for (const c of node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])) {
      if (CIDR.test(c)) found.add(c);
    }
  }
  return found.size > 0 ? [...found] : [DEFAULT_POD_CIDR];
}
