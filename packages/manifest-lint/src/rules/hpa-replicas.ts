import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { defineRule, hint } from './support/rule.js';

export const hpaReplicas = defineRule({
  id: 'lint/hpa-replicas',
  title: 'HorizontalPodAutoscalers keep a safe minimum',
  rationale:
    'An autoscaler with minReplicas 1 (the default) scales a quiet service down to a single pod, which turns the next drain or crash into an outage. A target that also sets `replicas` is reset to that number on every `kubectl apply`, fighting the autoscaler.',
  severity: 'warning',
  fixHint: hint(
    'Set minReplicas to at least 2, and remove `replicas` from the autoscaled workload.',
    `
spec:
  minReplicas: 2
  maxReplicas: 10`,
  ),
  docsUrl:
    'https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling',
  options: z.object({ minReplicas: z.number().int().min(1).default(2) }).strict(),
  run(context, options, reporter) {
    for (const hpa of context.index.ofKind('HorizontalPodAutoscaler')) {
      const subject = hpa.ref;
      reporter.examine(subject);
      const min = hpa.get(['spec', 'minReplicas']);
      const max = hpa.get(['spec', 'maxReplicas']);
      const effectiveMin = typeof min === 'number' ? min : 1;
      if (effectiveMin < options.minReplicas) {
        reporter.report({
          subject,
          message: `${subject} may scale down to ${effectiveMin} replica${effectiveMin === 1 ? '' : 's'}${min === undefined ? ' (minReplicas defaults to 1)' : ''}; set minReplicas to at least ${options.minReplicas}`,
          location: hpa.locate(
            min === undefined ? ['spec'] : ['spec', 'minReplicas'],
            min === undefined ? 'key' : 'value',
          ),
        });
      }
      if (typeof max === 'number' && max < effectiveMin) {
        reporter.report({
          subject,
          severity: 'error',
          message: `${subject} has maxReplicas ${max} below minReplicas ${effectiveMin}; the API rejects it`,
          location: hpa.locate(['spec', 'maxReplicas']),
        });
      } else if (typeof max === 'number' && max === effectiveMin) {
        reporter.report({
          subject,
          severity: 'info',
          message: `${subject} has maxReplicas equal to minReplicas (${max}): it never scales`,
          location: hpa.locate(['spec', 'maxReplicas']),
        });
      }
      const target = asRecord(hpa.get(['spec', 'scaleTargetRef']));
      const workload = context.index.workload(String(target.kind), String(target.name), hpa.namespace);
      if (workload && workload.object.get(['spec', 'replicas']) !== undefined) {
        reporter.report({
          subject,
          severity: 'info',
          message: `${workload.subject} sets replicas although ${subject} manages it; every kubectl apply resets it to ${String(workload.object.get(['spec', 'replicas']))} until the autoscaler reacts`,
          location: workload.object.locate(['spec', 'replicas']),
        });
      }
    }
  },
});
