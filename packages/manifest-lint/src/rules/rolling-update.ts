import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { describeStateful } from '../model/stateful.js';
import { scaledValue } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const rollingUpdate = defineRule({
  id: 'lint/rolling-update',
  title: 'Rollouts keep pods serving',
  rationale:
    'A Recreate strategy, or a rolling update whose maxUnavailable covers every replica, stops all pods before new ones are ready: every deploy is an outage, and a bad image is an outage with no old pods left. The exception is a singleton holding a ReadWriteOnce volume (a database): there Recreate is the correct strategy, and a rolling update gets stuck, because the new pod cannot mount the volume the old pod still holds.',
  severity: 'warning',
  fixHint: hint(
    'Use RollingUpdate with maxUnavailable below the replica count (or 0 with a surge). A Deployment that mounts a ReadWriteOnce claim (a database) uses Recreate instead.',
    `
# a stateless service
spec:
  replicas: 3
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1   # or 0 with maxSurge: 1
      maxSurge: 1
---
# a Deployment mounting a ReadWriteOnce claim
spec:
  replicas: 1
  strategy:
    type: Recreate`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#strategy',
  options: z
    .object({
      /** Accept `strategy: Recreate` everywhere (it is always accepted for stateful singletons). */
      allowRecreate: z.boolean().default(false),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      const { object } = workload;
      if (workload.kind === 'Deployment') {
        reporter.examine(workload.subject);
        const strategy = asRecord(object.get(['spec', 'strategy']));
        const facts = context.index.stateful(workload);
        const summary = context.index.replicaSummary(workload);
        const replicas = summary.min;
        if (strategy.type === 'Recreate') {
          // Recreate is right for a stateful singleton: the old pod releases its volume before the new one starts.
          if (!options.allowRecreate && !(facts.stateful && replicas <= 1 && (summary.max ?? 1) <= 1)) {
            reporter.report({
              subject: workload.subject,
              message: `${workload.subject} uses the Recreate strategy: every rollout stops all pods before starting new ones`,
              location: object.locate(['spec', 'strategy', 'type']),
            });
          }
          continue;
        }
        const rolling = asRecord(strategy.rollingUpdate);
        const maxUnavailable = rolling.maxUnavailable ?? '25%';
        const maxSurge = rolling.maxSurge ?? '25%';
        const unavailable = scaledValue(maxUnavailable, replicas, false);
        const surge = scaledValue(maxSurge, replicas, true);
        const claim = facts.singleAttachClaims[0];
        const replicaWords = summary.hpa
          ? `as few as ${replicas} replica${replicas === 1 ? '' : 's'} (${summary.hpa.ref}'s minimum)`
          : `${replicas} replica${replicas === 1 ? '' : 's'}`;
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
        } else if (claim && unavailable !== undefined && unavailable < replicas) {
          // The new pod starts while the old one still holds the volume.
          reporter.report({
            subject: workload.subject,
            message: `${workload.subject} ${describeStateful(facts)} but rolls out with RollingUpdate (maxUnavailable ${String(maxUnavailable)} of ${replicaWords}): the new pod starts while the old one still holds the volume, ${
              claim.mode === 'ReadWriteOncePod'
                ? 'which one pod at a time may use'
                : 'and cannot attach it from another node (Multi-Attach error)'
            }, so the rollout gets stuck; use strategy type Recreate`,
            // At `type: RollingUpdate`, else at `strategy:` (or `spec:` when no strategy is written: the default is RollingUpdate).
            location:
              strategy.type !== undefined
                ? object.locate(['spec', 'strategy', 'type'])
                : object.locate(['spec', 'strategy'], 'key'),
          });
        } else if (unavailable !== undefined && unavailable >= replicas && !(facts.stateful && replicas <= 1)) {
          reporter.report({
            subject: workload.subject,
            message: `${workload.subject} allows maxUnavailable ${String(maxUnavailable)} with ${replicaWords}: a rollout may take every pod down at once`,
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
