import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { scaledValue } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const rollingUpdate = defineRule({
  id: 'lint/rolling-update',
  title: 'Rollouts keep pods serving',
  rationale:
    'A Recreate strategy, or a rolling update whose maxUnavailable covers every replica, stops all pods before new ones are ready: every deploy is an outage, and a bad image is an outage with no old pods left.',
  severity: 'warning',
  fixHint: hint(
    'Use RollingUpdate with maxUnavailable below the replica count (or 0 with a surge).',
    `
spec:
  replicas: 3
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1   # or 0 with maxSurge: 1
      maxSurge: 1`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment',
  options: z
    .object({
      /** Accept `strategy: Recreate` (e.g. for singletons holding a ReadWriteOnce volume). */
      allowRecreate: z.boolean().default(false),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      const { object } = workload;
      if (workload.kind === 'Deployment') {
        reporter.examine(workload.subject);
        const strategy = asRecord(object.get(['spec', 'strategy']));
        if (strategy.type === 'Recreate') {
          if (!options.allowRecreate) {
            reporter.report({
              subject: workload.subject,
              message: `${workload.subject} uses the Recreate strategy: every rollout stops all pods before starting new ones`,
              location: object.locate(['spec', 'strategy', 'type']),
            });
          }
          continue;
        }
        const replicas = context.index.minimumReplicas(workload) ?? 1;
        const rolling = asRecord(strategy.rollingUpdate);
        const maxUnavailable = rolling.maxUnavailable ?? '25%';
        const maxSurge = rolling.maxSurge ?? '25%';
        const unavailable = scaledValue(maxUnavailable, replicas, false);
        const surge = scaledValue(maxSurge, replicas, true);
        if (
          unavailable === 0 &&
          surge === 0 &&
          rolling.maxUnavailable !== undefined &&
          rolling.maxSurge !== undefined
        ) {
          reporter.report({
            subject: workload.subject,
            severity: 'error',
            message: `${workload.subject} sets maxUnavailable and maxSurge to 0: the rollout can never make progress (the API rejects it)`,
            location: object.locate(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable']),
          });
        } else if (unavailable !== undefined && unavailable >= replicas) {
          reporter.report({
            subject: workload.subject,
            message: `${workload.subject} allows maxUnavailable ${String(maxUnavailable)} with ${replicas} replica${replicas === 1 ? '' : 's'}: a rollout may take every pod down at once`,
            location: object.locate(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable']),
          });
        }
      } else if (workload.kind === 'StatefulSet' || workload.kind === 'DaemonSet') {
        const rolling = asRecord(asRecord(object.get(['spec', 'updateStrategy'])).rollingUpdate);
        if (rolling.maxUnavailable === undefined) continue;
        reporter.examine(workload.subject);
        const total = workload.kind === 'StatefulSet' ? (context.index.minimumReplicas(workload) ?? 1) : 100;
        const unavailable = scaledValue(rolling.maxUnavailable, total, false);
        if (unavailable !== undefined && unavailable >= total) {
          reporter.report({
            subject: workload.subject,
            message: `${workload.subject} allows maxUnavailable ${String(rolling.maxUnavailable)}${workload.kind === 'StatefulSet' ? ` with ${total} replicas` : ' (every node)'}: an update may take every pod down at once`,
            location: object.locate(['spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable']),
          });
        }
      }
    }
  },
});
