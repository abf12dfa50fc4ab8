import { z } from 'zod';
import type { KubeObject } from '../model/object.js';
import { namespaceOf, sameNamespace, toLabelSelector } from '../model/selectors.js';
import { SERVING_KINDS, type Workload } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

/** Namespaced policy kinds (Kubernetes, Calico's namespaced NetworkPolicy has the same kind, Cilium). */
const NAMESPACED_POLICY_KINDS = ['NetworkPolicy', 'CiliumNetworkPolicy'];
/** Cluster-wide policy kinds: one of them may isolate every namespace. */
const CLUSTER_POLICY_KINDS = [
  'CiliumClusterwideNetworkPolicy',
  'GlobalNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
];

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const networkPolicyPresent = defineRule({
  id: 'lint/networkpolicy-present',
  title: 'Namespaces with workloads have NetworkPolicies',
  rationale:
    'Without any NetworkPolicy every pod accepts connections from every other pod in the cluster and can reach anything: one compromised or misbehaving pod reaches the database directly. A default-deny policy per namespace plus explicit allow rules is the security baseline (and documents who talks to whom). Reported once per namespace, at the Namespace object when the repository defines it, else at its first workload: that is where the missing policies belong.',
  severity: 'warning',
  fixHint: hint(
    'Add a default-deny policy for the namespace, then allow the traffic each workload needs (and DNS, if you also restrict egress).',
    `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: shop
spec:
  podSelector: {}          # every pod in the namespace
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-api
  namespace: shop
spec:
  podSelector:
    matchLabels: { app.kubernetes.io/name: db }
  ingress:
    - from:
        - podSelector:
            matchLabels: { app.kubernetes.io/name: api }
      ports:
        - port: 5432`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies',
  options: z
    .object({
      /** Also note (info, no points) each workload that no policy of its namespace selects. */
      reportUnselected: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    if (context.index.ofKind(...CLUSTER_POLICY_KINDS).length > 0) {
      // A cluster-wide policy may cover every namespace: nothing to judge per namespace.
      return;
    }
    const policies = context.index.ofKind(...NAMESPACED_POLICY_KINDS);
    const byNamespace = new Map<string, Workload[]>();
    for (const workload of context.index.workloads) {
      if (!SERVING_KINDS.has(workload.kind)) continue;
      const key = namespaceOf(workload.object.namespace);
      byNamespace.set(key, [...(byNamespace.get(key) ?? []), workload]);
    }
    for (const [key, workloads] of byNamespace) {
      // Named only when a manifest names it (`default` is also where manifests without a namespace land).
      const namespace = workloads.some((w) => w.object.namespace !== undefined) ? key : undefined;
      const subject = namespace ? `namespace ${namespace}` : 'namespace (not set in the manifests)';
      reporter.examine(subject);
      const applicable = policies.filter((p) => sameNamespace(p.namespace, namespace));
      if (applicable.length === 0) {
        const namespaceObject: KubeObject | undefined = namespace
          ? context.index.find('Namespace', namespace, undefined)[0]
          : undefined;
        const shown = workloads.slice(0, 3).map((w) => w.subject);
        const more = workloads.length > shown.length ? `, and ${workloads.length - shown.length} more` : '';
        reporter.report({
          subject,
          message: `${namespace ? `Namespace ${namespace}` : 'The namespace these manifests are applied to'} has no NetworkPolicy: the pods of its ${plural(workloads.length, 'workload')} (${shown.join(', ')}${more}) accept connections from every pod in the cluster and can reach anything; add a default-deny policy and allow what each workload needs`,
          location: (namespaceObject ?? workloads[0]!.object).locate(['metadata', 'name']),
        });
        continue;
      }
      if (!options.reportUnselected || applicable.some((p) => p.kind !== 'NetworkPolicy')) continue;
      const selected = new Set<Workload>();
      for (const policy of applicable) {
        const selector = toLabelSelector(policy.get(['spec', 'podSelector']));
        if (selector) for (const w of context.index.podsSelectedBy(selector, policy.namespace)) selected.add(w);
      }
      for (const workload of workloads) {
        if (selected.has(workload)) continue;
        reporter.report({
          subject,
          severity: 'info',
          message: `No NetworkPolicy selects the pods of ${workload.subject} (policies here: ${applicable.map((p) => p.name).join(', ')}): it accepts connections from every pod in the cluster`,
          location: workload.object.locate(['metadata', 'name']),
        });
      }
    }
  },
});
