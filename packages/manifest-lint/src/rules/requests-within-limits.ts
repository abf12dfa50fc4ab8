import { z } from 'zod';
import { asRecord } from '../model/object.js';
import { formatCpu, formatMemory, quantityOf } from '../model/quantity.js';
import { allContainers } from '../model/workloads.js';
import { containerLocation } from './support/helpers.js';
import { defineRule, hint } from './support/rule.js';

export const requestsWithinLimits = defineRule({
  id: 'lint/requests-within-limits',
  title: 'Resource requests do not exceed limits',
  rationale:
    'The API server rejects a pod whose request is larger than its limit: the Deployment is accepted but no pod is ever created.',
  severity: 'error',
  fixHint: hint(
    'Lower the request or raise the limit so that request ≤ limit for each resource.',
    `
resources:
  requests:
    memory: 128Mi   # ≤ the limit
  limits:
    memory: 256Mi`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const workload of context.index.workloads) {
      for (const container of allContainers(workload)) {
        const resources = asRecord(container.value.resources);
        const requests = asRecord(resources.requests);
        const limits = asRecord(resources.limits);
        const names = Object.keys(requests).filter((name) => limits[name] !== undefined);
        if (names.length === 0) continue;
        reporter.examine(container.subject);
        for (const name of names) {
          const request = quantityOf(requests[name]);
          const limit = quantityOf(limits[name]);
          if (request === undefined || limit === undefined || request <= limit) continue;
          const format = name === 'cpu' ? formatCpu : name === 'memory' ? formatMemory : String;
          reporter.report({
            subject: container.subject,
            message: `Container "${container.name}" of ${workload.subject} requests ${format(request)} ${name} but is limited to ${format(limit)}; the API server rejects request > limit`,
            location: containerLocation(container, ['resources', 'requests', name]),
          });
        }
      }
    }
  },
});
