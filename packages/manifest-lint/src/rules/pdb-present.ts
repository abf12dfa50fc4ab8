import { z } from 'zod';
import { toLabelSelector } from '../model/selectors.js';
import { REPLICATED_KINDS } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

export const pdbPresent = defineRule({
  id: 'lint/pdb-present',
  title: 'Replicated workloads have a PodDisruptionBudget',
  rationale:
    'Without a PodDisruptionBudget a node drain (cluster upgrade, autoscaler scale-down) may evict all replicas at the same time, even though you run several of them.',
  severity: 'warning',
  fixHint: hint(
    'Add a PodDisruptionBudget selecting the pods, allowing one disruption at a time.',
    `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web`,
  ),
  docsUrl: 'https://kubernetes.io/docs/tasks/run-application/configure-pdb/',
  options: z
    .object({
      /** Workloads with at least this many replicas need a PDB. */
      minReplicas: z.number().int().min(1).default(2),
    })
    .strict(),
  run(context, options, reporter) {
    const covered = new Set<unknown>();
    for (const pdb of context.index.ofKind('PodDisruptionBudget')) {
      const selector = toLabelSelector(pdb.get(['spec', 'selector']));
      if (selector) for (const w of context.index.podsSelectedBy(selector, pdb.namespace)) covered.add(w);
    }
    for (const workload of context.index.workloads) {
      if (!REPLICATED_KINDS.has(workload.kind)) continue;
      const summary = context.index.replicaSummary(workload);
      if (summary.min < options.minReplicas) continue;
      reporter.examine(workload.subject);
      if (covered.has(workload)) continue;
      reporter.report({
        subject: workload.subject,
        message: `${workload.subject} ${summary.text} but no PodDisruptionBudget selects its pods; a node drain may evict them all at once`,
        location: workload.object.locate(['metadata', 'name']),
      });
    }
  },
});
