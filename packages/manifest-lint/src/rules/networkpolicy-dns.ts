import { z } from 'zod';
import { asArray, asRecord, isRecord, type KubeObject } from '../model/object.js';
import { isEmptySelector, sameNamespace, toLabelSelector, type LabelSelector } from '../model/selectors.js';
import type { Workload } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

const EMPTY: LabelSelector = { matchLabels: {}, matchExpressions: [] };

function isolatesEgress(policy: KubeObject): boolean {
  const types = policy.get(['spec', 'policyTypes']);
  if (Array.isArray(types)) return types.includes('Egress');
  return policy.get(['spec', 'egress']) !== undefined;
}

/** Could this peer be the cluster DNS (kube-dns in kube-system)? Unknown namespace labels are given the benefit of the doubt. */
function peerMayBeDns(peer: unknown): boolean {
  if (!isRecord(peer)) return false;
  if (isRecord(peer.ipBlock)) return true;
  if (!isRecord(peer.namespaceSelector)) return false; // a podSelector alone means pods of the policy's own namespace
  const labels = asRecord(peer.namespaceSelector.matchLabels);
  const name = labels['kubernetes.io/metadata.name'];
  if (name !== undefined) return name === 'kube-system';
  return true;
}

const DNS_PORT_NAMES = new Set(['dns', 'dns-tcp', 'domain']);

function allowsDns(policies: readonly KubeObject[]): { udp: boolean; tcp: boolean } {
  const result = { udp: false, tcp: false };
  for (const policy of policies) {
    for (const rule of asArray(policy.get(['spec', 'egress']))) {
      if (!isRecord(rule)) continue;
      const to = asArray(rule.to);
      if (to.length > 0 && !to.some(peerMayBeDns)) continue;
      const ports = asArray(rule.ports);
      if (ports.length === 0) return { udp: true, tcp: true };
      for (const entry of ports) {
        if (!isRecord(entry)) continue;
        const protocol = typeof entry.protocol === 'string' ? entry.protocol : 'TCP';
        const port = entry.port;
        const end = typeof entry.endPort === 'number' ? entry.endPort : undefined;
        const ok =
          port === undefined ||
          port === 53 ||
          (typeof port === 'string' && DNS_PORT_NAMES.has(port)) ||
          (typeof port === 'number' && end !== undefined && port <= 53 && end >= 53);
        if (!ok) continue;
        if (protocol === 'UDP') result.udp = true;
        if (protocol === 'TCP') result.tcp = true;
      }
    }
  }
  return result;
}

export const networkPolicyDns = defineRule({
  id: 'lint/networkpolicy-dns',
  title: 'Egress-restricted pods can still resolve names',
  rationale:
    "Once any NetworkPolicy restricts a pod's egress, everything not explicitly allowed is dropped, DNS included: the app cannot resolve the database or any Service name. DNS uses UDP port 53 and falls back to TCP 53 for large answers, so allow both.",
  severity: 'error',
  fixHint: hint(
    'Next to a default-deny egress policy, allow DNS to kube-dns over UDP and TCP port 53.',
    `
egress:
  - to:
      - namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: kube-system
        podSelector:
          matchLabels:
            k8s-app: kube-dns
    ports:
      - protocol: UDP
        port: 53
      - protocol: TCP
        port: 53`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    const egress = context.index.ofKind('NetworkPolicy').filter(isolatesEgress);
    // Invert once: which egress-restricting policies select each workload.
    const policiesOf = new Map<Workload, KubeObject[]>();
    for (const policy of egress) {
      const selector = toLabelSelector(policy.get(['spec', 'podSelector'])) ?? EMPTY;
      for (const workload of context.index.podsSelectedBy(selector, policy.namespace)) {
        policiesOf.set(workload, [...(policiesOf.get(workload) ?? []), policy]);
      }
    }
    const applicable = (workload: Workload) => policiesOf.get(workload) ?? [];
    const where = (policy: KubeObject) => {
      const types = asArray(policy.get(['spec', 'policyTypes']));
      const index = types.indexOf('Egress');
      return index >= 0 ? policy.locate(['spec', 'policyTypes', index]) : policy.locate(['spec', 'egress'], 'key');
    };
    const describe = (dns: { udp: boolean; tcp: boolean }) =>
      dns.udp
        ? 'allows DNS over UDP but not TCP port 53 (large answers fall back to TCP)'
        : dns.tcp
          ? 'allows DNS over TCP but not UDP port 53'
          : 'allows no DNS (UDP and TCP port 53)';

    const covered = new Set<KubeObject>();
    for (const workload of context.index.workloads) {
      const policies = applicable(workload);
      if (policies.length === 0) continue;
      policies.forEach((p) => covered.add(p));
      const subject = `${workload.subject} egress`;
      reporter.examine(subject);
      const dns = allowsDns(policies);
      if (dns.udp && dns.tcp) continue;
      reporter.report({
        subject,
        message: `${policies.map((p) => p.ref).join(' and ')} restrict${policies.length === 1 ? 's' : ''} the egress of ${workload.subject} but ${describe(dns)}: name lookups will fail`,
        location: where(policies[0]!),
      });
    }
    // Default-deny policies in namespaces without workloads in the repository: judge them alone.
    for (const policy of egress) {
      if (covered.has(policy)) continue;
      if (!isEmptySelector(toLabelSelector(policy.get(['spec', 'podSelector'])) ?? EMPTY)) continue;
      const subject = policy.ref;
      reporter.examine(subject);
      const siblings = egress.filter(
        (p) =>
          sameNamespace(p.namespace, policy.namespace) &&
          isEmptySelector(toLabelSelector(p.get(['spec', 'podSelector'])) ?? EMPTY),
      );
      const dns = allowsDns(siblings);
      if (dns.udp && dns.tcp) continue;
      reporter.report({
        subject,
        message: `${policy.ref} restricts egress of every pod in its namespace but ${describe(dns)}: name lookups will fail`,
        location: where(policy),
      });
    }
  },
});
