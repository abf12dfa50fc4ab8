import { z } from 'zod';
import { asArray, isRecord, type KubeObject } from '../model/object.js';
import {
  formatSelector,
  isEmptySelector,
  namespaceOf,
  sameNamespace,
  toLabelSelector,
  type LabelSelector,
} from '../model/selectors.js';
import type { Workload } from '../model/workloads.js';
import { isolates, namespaceLabels, peerShape, peersSelect, type PodTarget } from './support/network-peers.js';
import { defineRule, hint } from './support/rule.js';

const EMPTY: LabelSelector = { matchLabels: {}, matchExpressions: [] };

/**
 * The cluster DNS: CoreDNS pods labelled k8s-app=kube-dns in kube-system (kubeadm, kind, k3s, minikube and
 * the managed clusters). Their other labels and kube-system's are unknown: a selector on them is given the
 * benefit of the doubt.
 */
const CLUSTER_DNS: PodTarget = {
  namespace: 'kube-system',
  namespaceLabels: namespaceLabels('kube-system'),
  podLabels: { labels: { 'k8s-app': 'kube-dns' }, complete: false },
};

/** CoreDNS's container port names (kubeadm's manifests, the coredns chart) and the IANA service name. */
const DNS_PORT_NAMES = new Set(['dns', 'dns-tcp', 'udp-53', 'tcp-53', 'domain']);

interface Dns {
  udp: boolean;
  tcp: boolean;
}

/** The DNS protocols a rule's ports allow (ORed entries; none: every port; protocol TCP by default). */
function dnsPorts(ports: unknown): Dns {
  const list = asArray(ports);
  if (list.length === 0) return { udp: true, tcp: true };
  const result = { udp: false, tcp: false };
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const protocol = typeof entry.protocol === 'string' ? entry.protocol : 'TCP';
    const port = entry.port;
    const end = typeof entry.endPort === 'number' ? entry.endPort : undefined;
    const ok =
      port === undefined ||
      port === null ||
      port === 53 ||
      (typeof port === 'string' && (port === '53' || DNS_PORT_NAMES.has(port))) ||
      (typeof port === 'number' && end !== undefined && port <= 53 && end >= 53);
    if (!ok) continue;
    if (protocol === 'UDP') result.udp = true;
    if (protocol === 'TCP') result.tcp = true;
  }
  return result;
}

/** A rule for UDP port 53 whose peers miss the cluster DNS because a podSelector alone means the own namespace. */
interface Miss {
  policy: KubeObject;
  rule: number;
  peer: number;
  selector: LabelSelector;
}

function allowsDns(policies: readonly KubeObject[]): Dns & { miss?: Miss } {
  const result: Dns & { miss?: Miss } = { udp: false, tcp: false };
  for (const policy of policies) {
    asArray(policy.get(['spec', 'egress'])).forEach((rule, r) => {
      if (!isRecord(rule)) return;
      const ports = dnsPorts(rule.ports);
      if (!ports.udp && !ports.tcp) return;
      // Ports are ANDed with the peers; the peers are ORed, each one's selectors ANDed.
      if (peersSelect(rule.to, policy.namespace, CLUSTER_DNS) === 'no') {
        if (!result.miss && ports.udp) {
          const peer = asArray(rule.to).findIndex((p) => {
            const shape = peerShape(p);
            return shape?.pod !== undefined && !shape.namespace && !shape.ipBlock;
          });
          const shape = peer >= 0 ? peerShape(asArray(rule.to)[peer]) : undefined;
          if (shape?.pod) result.miss = { policy, rule: r, peer, selector: shape.pod };
        }
        return;
      }
      if (ports.udp) result.udp = true;
      if (ports.tcp) result.tcp = true;
    });
  }
  return result;
}

export const networkPolicyDns = defineRule({
  id: 'lint/networkpolicy-dns',
  title: 'Egress-restricted pods can still resolve names',
  rationale:
    "Once any NetworkPolicy restricts a pod's egress, everything not explicitly allowed is dropped, DNS included: the app cannot resolve the database or any Service name. Resolvers ask over UDP port 53 and retry over TCP port 53 only when an answer is too large for UDP: without UDP 53 (or without any DNS) lookups fail, which is an error; UDP 53 alone is a note (it costs nothing), since only large answers fail. The peers are read as Kubernetes does: the items of `to` are ORed, a namespaceSelector and a podSelector in one item are ANDed, and a podSelector alone selects pods of the policy's own namespace, where kube-dns is not.",
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
    const egress = context.index.ofKind('NetworkPolicy').filter((p) => isolates(p, 'Egress'));
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
    /** The finding for egress-restricted pods, by what the policies allow: UDP only is a note (it costs nothing). */
    const judge = (subject: string, restricts: string, policies: readonly KubeObject[], fallback: KubeObject) => {
      const dns = allowsDns(policies);
      if (dns.udp && dns.tcp) return;
      if (dns.udp) {
        reporter.report({
          subject,
          severity: 'info',
          message: `${restricts} and allows DNS over UDP port 53 but not over TCP port 53: ordinary lookups work, but an answer too large for UDP, which the resolver retries over TCP, fails; allow TCP port 53 too`,
          location: where(fallback),
        });
        return;
      }
      const why = dns.tcp
        ? 'allows DNS over TCP port 53 only, not over UDP port 53, which resolvers use first: name lookups will time out'
        : 'allows no DNS (neither UDP nor TCP port 53 to the cluster DNS in kube-system): name lookups will fail';
      const miss = dns.miss;
      reporter.report({
        subject,
        message: `${restricts} but ${why}${
          miss
            ? `. Its egress rule for DNS allows traffic to pods labelled ${formatSelector(miss.selector)} of namespace ${namespaceOf(miss.policy.namespace)} only (a podSelector without a namespaceSelector selects pods of the policy's own namespace); put a namespaceSelector for kube-system in the same item, without a dash of its own`
            : ''
        }`,
        location: miss
          ? miss.policy.locate(['spec', 'egress', miss.rule, 'to', miss.peer, 'podSelector'], 'key')
          : where(fallback),
      });
    };

    const covered = new Set<KubeObject>();
    for (const workload of context.index.workloads) {
      const policies = applicable(workload);
      if (policies.length === 0) continue;
      policies.forEach((p) => covered.add(p));
      const subject = `${workload.subject} egress`;
      reporter.examine(subject);
      const restricts = `${policies.map((p) => p.ref).join(' and ')} restrict${policies.length === 1 ? 's' : ''} the egress of ${workload.subject}`;
      judge(subject, restricts, policies, policies[0]!);
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
      judge(subject, `${policy.ref} restricts egress of every pod in its namespace`, siblings, policy);
    }
  },
});
