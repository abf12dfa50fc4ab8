import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { isRecord, type Json } from '../model/object.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

const HANDLERS = ['httpGet', 'tcpSocket', 'grpc', 'exec'] as const;

function handlerOf(probe: Json): Partial<Json> {
  const out: Json = {};
  for (const h of HANDLERS) if (probe[h] !== undefined) out[h] = probe[h];
  return out;
}

export const probesDistinct = defineRule({
  id: 'lint/probes-distinct',
  title: 'Liveness and readiness probes check different things',
  rationale:
    'When liveness checks exactly what readiness checks, a slow dependency or a traffic spike makes the pod both unready and "dead": Kubernetes restarts every replica at once instead of just taking them out of rotation. Liveness should only ask "is this process stuck?".',
  severity: 'warning',
  fixHint: hint(
    'Point liveness at a cheap endpoint that does not check dependencies (or give it a much higher failure threshold); keep dependency checks in readiness.',
    `
readinessProbe:
  httpGet: { path: /readyz, port: http }   # checks the database too
livenessProbe:
  httpGet: { path: /healthz, port: http }  # only "the process answers"
  failureThreshold: 6`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/',
  options: z
    .object({
      /** `handler`: same action (path, port, command) is identical; `all`: only fully identical probes (timings included). */
      compare: z.enum(['handler', 'all']).default('handler'),
    })
    .strict(),
  run(context, options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of workload.containers) {
        const { livenessProbe: liveness, readinessProbe: readiness } = container.value;
        if (!isRecord(liveness) || !isRecord(readiness)) continue;
        reporter.examine(container.subject);
        const same =
          options.compare === 'all'
            ? isDeepStrictEqual(liveness, readiness)
            : Object.keys(handlerOf(liveness)).length > 0 &&
              isDeepStrictEqual(handlerOf(liveness), handlerOf(readiness));
        if (!same) continue;
        reporter.report({
          subject: container.subject,
          message: `Container "${container.name}" of ${workload.subject} uses the same check for liveness and readiness; a dependency outage would restart every replica`,
          location: containerLocation(container, ['livenessProbe'], 'key'),
        });
      }
    }
  },
});
