import { z } from 'zod';
import { describeStateful, type StatefulFacts } from '../model/stateful.js';
import { REPLICATED_KINDS } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

/** What a second replica of a stateful singleton would be, in the words of its strongest reason. */
function secondReplica(facts: StatefulFacts): string {
  const claim = facts.singleAttachClaims[0];
  if (claim) {
    return claim.mode === 'ReadWriteOncePod'
      ? `A second replica could not mount the ReadWriteOncePod claim ${claim.claim}, which one pod at a time may use.`
      : `A second replica could not attach the ReadWriteOnce claim ${claim.claim} from another node, and on the same node would share one data directory.`;
  }
  if (facts.claimTemplates)
    return 'A second replica would get a volume of its own: a second, independent copy of the data, not a replica of it.';
  const store = facts.dataStore!.store;
  return `A second replica would be a second, independent ${store.product} with its own data: clients would see different data depending on the pod they reach.`;
}

export const replicas = defineRule({
  id: 'lint/replicas',
  title: 'Workloads run enough replicas to survive losing one',
  rationale:
    'With a single replica every node drain, eviction, crash or rollout is an outage. Two or more replicas (spread over nodes) keep serving while one is replaced. Stateful singletons are the exception: a database, a cache or a broker holding its data on a ReadWriteOnce volume cannot be scaled by `replicas` (replication is a feature of the database, configured in it or by an operator), so one replica is right there, and several replicas sharing one ReadWriteOnce claim are a bug.',
  severity: 'warning',
  fixHint: hint(
    'Run at least the minimum number of replicas (or an HPA with that minReplicas). For a database or another stateful singleton keep one replica with a Recreate strategy and no drain-blocking PodDisruptionBudget, and plan its recovery (backups, a tested restore); replicate it with the database itself (an operator) when it must survive a node loss.',
    `
# a stateless service
spec:
  replicas: 3
---
# a stateful singleton (PostgreSQL on a ReadWriteOnce claim)
spec:
  replicas: 1
  strategy:
    type: Recreate`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#replicas',
  options: z
    .object({
      minReplicas: z.number().int().min(1).default(2),
      /**
       * Stateful singletons (well-known data-store images, StatefulSets with
       * volumeClaimTemplates, workloads mounting a ReadWriteOnce claim) with
       * fewer replicas get an info finding explaining why that is right,
       * instead of a warning. Set false to require minReplicas of them too.
       */
      allowStatefulSingletons: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      if (!REPLICATED_KINDS.has(workload.kind)) continue;
      reporter.examine(workload.subject);
      const summary = context.index.replicaSummary(workload);
      const facts = context.index.stateful(workload);
      const claim = facts.singleAttachClaims[0];
      const most = Math.max(summary.min, summary.max ?? 0);
      if (claim && most >= 2) {
        // Several pods sharing one single-attach claim: scaling it up is the bug.
        const store = facts.dataStore?.store;
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} ${summary.text} that all mount the ${claim.mode} claim ${claim.claim}: ${
            claim.mode === 'ReadWriteOncePod'
              ? 'only one pod can use it, so the others never start'
              : 'only one node can attach it, so pods scheduled on another node stay ContainerCreating (Multi-Attach error) and pods on the same node share one data directory'
          }${store ? `, which two ${store.product} processes must never do` : ''}. Run 1 replica with strategy Recreate, or a StatefulSet with volumeClaimTemplates (a volume per pod) if the software replicates itself`,
          location: workload.object.locate(claim.path),
        });
        continue;
      }
      if (summary.min >= options.minReplicas) continue;
      const set = summary.specReplicas !== undefined && summary.specReplicas !== null;
      const replicasLocation = workload.object.locate(set ? ['spec', 'replicas'] : ['spec'], set ? 'value' : 'key');
      if (facts.stateful && options.allowStatefulSingletons) {
        // One replica is the right answer for a singleton: it passes, and an info says why.
        const store = facts.dataStore?.store;
        reporter.report({
          subject: workload.subject,
          severity: 'info',
          message: `${workload.subject} ${describeStateful(facts)}, ${summary.text.replace(/^runs /, 'with ')}: right for a stateful singleton. ${secondReplica(facts)} ${
            store
              ? `Replication is a feature of ${store.product} (${store.replicates}), not of spec.replicas.`
              : 'Replication, where needed, is a feature of the software itself, not of spec.replicas.'
          } Its availability comes from one pod with no PodDisruptionBudget that blocks drains, fast restarts, and a recovery plan (backups and a tested restore)`,
          location: summary.hpa ? summary.hpa.locate(['spec', 'minReplicas']) : replicasLocation,
        });
        continue;
      }
      if (summary.hpa) {
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} is autoscaled by ${summary.hpa.ref} down to ${summary.min} replica${summary.min === 1 ? '' : 's'}; at least ${options.minReplicas} are required`,
          location: summary.hpa.locate(['spec', 'minReplicas']),
        });
      } else {
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} ${summary.text}; at least ${options.minReplicas} are required to survive a node drain or a crash`,
          location: replicasLocation,
        });
      }
    }
  },
});
