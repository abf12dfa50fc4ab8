import { z } from 'zod';
import { SERVING_KINDS } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const probesPresent = defineRule({
  id: 'lint/probes-present',
  title: 'Long-running containers have liveness and readiness probes',
  rationale:
    'Without a readiness probe a Service sends traffic to pods that are still starting or are overloaded; without a liveness probe a deadlocked process is never restarted. Rolling updates rely on readiness to know when to continue.',
  severity: 'error',
  fixHint: hint(
    'Add a readiness probe (is it ready for traffic?) and a liveness probe (is the process healthy?) to each long-running container.',
    `
containers:
  - name: web
    ports:
      - name: http
        containerPort: 8080
    readinessProbe:
      httpGet: { path: /readyz, port: http }
      periodSeconds: 5
    livenessProbe:
      httpGet: { path: /healthz, port: http }
      periodSeconds: 10
      failureThreshold: 3`,
  ),
  docsUrl: 'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/',
  options: z
    .object({
      requireLiveness: z.boolean().default(true),
      requireReadiness: z.boolean().default(true),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      // Jobs run to completion; a bare Pod with restartPolicy Never is a one-off.
      if (!SERVING_KINDS.has(workload.kind)) continue;
      if (
        workload.kind === 'Pod' &&
        workload.podSpec.restartPolicy !== undefined &&
        workload.podSpec.restartPolicy !== 'Always'
      )
        continue;
      for (const container of workload.containers) {
        reporter.examine(container.subject);
        const missing: string[] = [];
        if (options.requireReadiness && !container.value.readinessProbe) missing.push('readinessProbe');
        if (options.requireLiveness && !container.value.livenessProbe) missing.push('livenessProbe');
        if (missing.length === 0) continue;
        reporter.report({
          subject: container.subject,
          message: `Container "${container.name}" of ${workload.subject} has no ${missing.join(' and no ')}`,
          location: containerLocation(container, ['name'], 'key'),
        });
      }
    }
  },
});
