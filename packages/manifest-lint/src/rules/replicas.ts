import { z } from 'zod';
import { REPLICATED_KINDS } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

export const replicas = defineRule({
  id: 'lint/replicas',
  title: 'Workloads run enough replicas to survive losing one',
  rationale:
    'With a single replica every node drain, eviction, crash or rollout is an outage. Two or more replicas (spread over nodes) keep serving while one is replaced.',
  severity: 'warning',
  fixHint: hint(
    'Run at least the minimum number of replicas (or an HPA with that minReplicas).',
    `
spec:
  replicas: 3`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#replicas',
  options: z.object({ minReplicas: z.number().int().min(1).default(2) }).strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      if (!REPLICATED_KINDS.has(workload.kind)) continue;
      reporter.examine(workload.subject);
      const hpa = context.index.autoscalersOf(workload)[0];
      const count = context.index.minimumReplicas(workload) ?? 1;
      if (count >= options.minReplicas) continue;
      if (hpa) {
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} is autoscaled by ${hpa.ref} down to ${count} replica${count === 1 ? '' : 's'}; at least ${options.minReplicas} are required`,
          location: hpa.locate(['spec', 'minReplicas']),
        });
      } else {
        const set = workload.object.get(['spec', 'replicas']) !== undefined;
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} runs ${count} replica${count === 1 ? '' : 's'}${set ? '' : ' (replicas is not set)'}; at least ${options.minReplicas} are required to survive a node drain or a crash`,
          location: workload.object.locate(set ? ['spec', 'replicas'] : ['spec'], set ? 'value' : 'key'),
        });
      }
    }
  },
});
