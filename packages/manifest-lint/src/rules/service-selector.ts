import { z } from 'zod';
import { formatSelector, sameNamespace } from '../model/selectors.js';
import { inOtherNamespaces, whereIs } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const serviceSelector = defineRule({
  id: 'lint/service-selector',
  title: "Service selectors match a workload's pod labels",
  rationale:
    'A Service routes to pods whose labels match its selector. One typo in a label and the Service has no endpoints: every request fails although every pod is healthy.',
  severity: 'error',
  fixHint: hint(
    "Copy the selector from the workload's pod template labels (`spec.template.metadata.labels`).",
    `
# Service
spec:
  selector:
    app.kubernetes.io/name: web
---
# Deployment
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const { service, selector } of context.index.selectingServices()) {
      reporter.examine(service.ref);
      if (context.index.podsSelectedBy(selector, service.namespace).length > 0) continue;
      const elsewhere = context.index.podsSelectedElsewhere(selector, service.namespace);
      if (elsewhere.length > 0) {
        reporter.report({
          subject: service.ref,
          message: `${service.ref} selects ${formatSelector(selector)}, but only pods of other namespaces have these labels (${inOtherNamespaces(elsewhere)}), and a Service selects pods of its own namespace only (${whereIs(service)}); give the Service and the workload the same metadata.namespace, or the Service has no endpoints`,
          location: service.locate(['spec', 'selector'], 'key'),
        });
        continue;
      }
      // Help: which workloads in the namespace share at least one label key?
      const near = context.index.workloads
        .filter((w) => sameNamespace(w.object.namespace, service.namespace))
        .filter((w) => Object.keys(selector.matchLabels).some((k) => k in w.labels))
        .slice(0, 2)
        .map(
          (w) =>
            `${w.subject} has ${Object.entries(w.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`,
        );
      reporter.report({
        subject: service.ref,
        message: `${service.ref} selects ${formatSelector(selector)} but no pod template in the repository has these labels${near.length ? ` (${near.join('; ')})` : ''}; the Service would have no endpoints`,
        location: service.locate(['spec', 'selector'], 'key'),
      });
    }
  },
});
