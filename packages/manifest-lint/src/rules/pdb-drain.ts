import { z } from 'zod';
import { isEmptySelector, toLabelSelector, type LabelSelector } from '../model/selectors.js';
import type { KubeObject } from '../model/object.js';
import { inOtherNamespaces, scaledValue, whereIs } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const pdbDrain = defineRule({
  id: 'lint/pdb-drain',
  title: 'PodDisruptionBudgets allow at least one eviction',
  rationale:
    'A budget that never allows an eviction (minAvailable equal to the replica count, maxUnavailable 0, or two budgets on the same pods) blocks `kubectl drain`: node upgrades hang until someone deletes the budget by hand. A budget that selects no pods protects nothing.',
  severity: 'error',
  fixHint: hint(
    'Allow at least one pod to be evicted: prefer maxUnavailable: 1, or minAvailable below the replica count.',
    `
spec:
  maxUnavailable: 1        # works for any replica count ≥ 2
  selector:
    matchLabels:
      app.kubernetes.io/name: web`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-budgets',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    const pdbs = context.index.ofKind('PodDisruptionBudget');
    const selectors = new Map<KubeObject, LabelSelector>();
    for (const pdb of pdbs) {
      const selector = toLabelSelector(pdb.get(['spec', 'selector'])) ?? { matchLabels: {}, matchExpressions: [] };
      selectors.set(pdb, selector);
    }
    // Which budgets cover each workload (a pod with two budgets cannot be evicted).
    const budgetsOf = new Map<unknown, KubeObject[]>();
    for (const pdb of pdbs) {
      for (const w of context.index.podsSelectedBy(selectors.get(pdb)!, pdb.namespace)) {
        budgetsOf.set(w, [...(budgetsOf.get(w) ?? []), pdb]);
      }
    }
    for (const pdb of pdbs) {
      const subject = pdb.ref;
      reporter.examine(subject);
      const selector = selectors.get(pdb)!;
      const workloads = context.index.podsSelectedBy(selector, pdb.namespace);
      if (workloads.length === 0) {
        const elsewhere = isEmptySelector(selector) ? [] : context.index.podsSelectedElsewhere(selector, pdb.namespace);
        reporter.report({
          subject,
          severity: 'warning',
          message:
            elsewhere.length > 0
              ? `${subject} selects no pod template of its namespace: only pods of other namespaces have these labels (${inOtherNamespaces(elsewhere)}), and a budget covers pods of its own namespace only (${whereIs(pdb)}); give it their namespace, or it protects nothing`
              : `${subject} selects no pod template in the repository${isEmptySelector(selector) ? '' : '; check the labels'}, so it protects nothing`,
          location: pdb.locate(['spec', 'selector'], 'key'),
        });
        continue;
      }
      for (const workload of workloads) {
        const others = (budgetsOf.get(workload) ?? []).filter((o) => o !== pdb);
        if (others.length > 0) {
          reporter.report({
            subject,
            message: `Pods of ${workload.subject} are selected by ${subject} and ${others.map((o) => o.ref).join(', ')}; the eviction API refuses pods with more than one budget, so drains block`,
            location: pdb.locate(['spec', 'selector'], 'key'),
          });
          continue;
        }
        const replicas = context.index.minimumReplicas(workload);
        const hpa = context.index.autoscalersOf(workload)[0];
        const minAvailable = pdb.get(['spec', 'minAvailable']);
        const maxUnavailable = pdb.get(['spec', 'maxUnavailable']);
        if (maxUnavailable !== undefined) {
          const allowed =
            replicas === undefined ? scaledValue(maxUnavailable, 1, true) : scaledValue(maxUnavailable, replicas, true);
          if (allowed === 0) {
            reporter.report({
              subject,
              message: `${subject} sets maxUnavailable ${String(maxUnavailable)}: no pod of ${workload.subject} may ever be evicted, so node drains block`,
              location: pdb.locate(['spec', 'maxUnavailable']),
            });
          }
        } else if (minAvailable !== undefined && replicas !== undefined) {
          const required = scaledValue(minAvailable, replicas, true);
          if (required !== undefined && required >= replicas) {
            reporter.report({
              subject,
              message: `${subject} requires ${required} available pod${required === 1 ? '' : 's'} (minAvailable ${String(minAvailable)}) but ${workload.subject} ${
                hpa ? `may run as few as ${replicas} (${hpa.ref}'s minimum)` : `runs ${replicas}`
              }: ${hpa ? 'then ' : ''}no pod may be evicted, so node drains block`,
              location: pdb.locate(['spec', 'minAvailable']),
            });
          }
        }
      }
    }
  },
});
