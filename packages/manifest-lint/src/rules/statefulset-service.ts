import { z } from 'zod';
import { asRecord, asString, isRecord } from '../model/object.js';
import { formatSelector, mapSelector, selectorMatches } from '../model/selectors.js';
import { defineRule, hint } from './support/rule.js';

export const statefulSetService = defineRule({
  id: 'lint/statefulset-service',
  title: 'StatefulSets are governed by an existing headless Service',
  rationale:
    "A StatefulSet's pods get stable DNS names (db-0.db.<namespace>.svc) only through the headless Service named in spec.serviceName. If that Service is missing, not headless, or selects other pods, the peers and clients that address replicas by name (database replication, quorum members) cannot find them.",
  severity: 'error',
  fixHint: hint(
    "Add a headless Service (`clusterIP: None`) named as the StatefulSet's `spec.serviceName`, selecting its pods.",
    `
apiVersion: v1
kind: Service
metadata:
  name: db            # = the StatefulSet's spec.serviceName
spec:
  clusterIP: None     # headless: one DNS record per pod
  selector:
    app.kubernetes.io/name: db
  ports:
    - name: postgres
      port: 5432`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-network-id',
  options: z.object({}).strict(),
  run(context, _options, reporter) {
    for (const workload of context.index.workloads) {
      if (workload.kind !== 'StatefulSet') continue;
      const set = workload.object;
      // Without serviceName the pods simply have no per-pod DNS names; nothing to check.
      const serviceName = asString(set.get(['spec', 'serviceName']));
      if (!serviceName) continue;
      reporter.examine(workload.subject);
      const service = context.index.find('Service', serviceName, set.namespace)[0];
      if (!service) {
        reporter.report({
          subject: workload.subject,
          message: `${workload.subject} names the governing Service "${serviceName}", which is not in the repository: its pods get no stable DNS names (${set.name}-0.${serviceName})`,
          location: set.locate(['spec', 'serviceName']),
        });
        continue;
      }
      const spec = asRecord(service.get(['spec']));
      if (spec.clusterIP !== 'None') {
        reporter.report({
          subject: workload.subject,
          severity: 'warning',
          message: `${service.ref}, the governing Service of ${workload.subject}, is not headless (clusterIP: None): ${set.name}-0.${serviceName} and the other per-pod DNS names are not published`,
          location:
            spec.clusterIP !== undefined ? service.locate(['spec', 'clusterIP']) : service.locate(['spec'], 'key'),
        });
      }
      // A Service without a selector has hand-made endpoints: nothing to compare.
      const selector = isRecord(spec.selector) ? mapSelector(spec.selector) : undefined;
      if (selector && Object.keys(selector.matchLabels).length > 0 && !selectorMatches(selector, workload.labels)) {
        reporter.report({
          subject: workload.subject,
          message: `${service.ref}, the governing Service of ${workload.subject}, selects ${formatSelector(selector)}, which does not match the StatefulSet's pods: it has no endpoints for them`,
          location: service.locate(['spec', 'selector'], 'key'),
        });
      }
    }
  },
});
