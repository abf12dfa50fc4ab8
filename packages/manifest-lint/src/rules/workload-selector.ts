import { z } from 'zod';
import { formatSelector, isEmptySelector, selectorMatches, toLabelSelector } from '../model/selectors.js';
import { defineRule, hint } from './support/rule.js';

const SELECTING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

export const workloadSelector = defineRule({
  id: 'lint/workload-selector',
  title: "Workload selectors match their own pod template's labels",
  rationale:
    'A Deployment, StatefulSet, DaemonSet or ReplicaSet whose selector does not match its template labels is rejected by the API server ("selector does not match template labels"); an empty selector would adopt every pod in the namespace.',
  severity: 'error',
  fixHint: hint(
    'Repeat the selector labels in `spec.template.metadata.labels`.',
    `
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web   # same key and value`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const workload of context.index.workloads) {
      const manual = workload.kind === 'Job' && workload.object.get(['spec', 'manualSelector']) === true;
      if (!SELECTING.has(workload.kind) && !manual) continue;
      const selector = toLabelSelector(workload.object.get(['spec', 'selector']));
      if (!selector) continue; // missing selector: lint/schema-valid reports the required field
      reporter.examine(workload.subject);
      if (isEmptySelector(selector)) {
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} has an empty selector; the API rejects it`,
          location: workload.object.locate(['spec', 'selector'], 'key'),
        });
      } else if (!selectorMatches(selector, workload.labels)) {
        const labels =
          Object.entries(workload.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || 'none';
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} selects ${formatSelector(selector)} but its pod template is labelled ${labels}; the API server rejects it`,
          location: workload.object.locate(['spec', 'selector'], 'key'),
        });
      }
    }
  },
});
