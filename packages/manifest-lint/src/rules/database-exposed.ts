import { z } from 'zod';
import { asArray, asRecord, isRecord } from '../model/object.js';
import { describeStateful } from '../model/stateful.js';
import { defineRule, hint } from './support/rule.js';

export const databaseExposed = defineRule({
  id: 'lint/database-exposed',
  title: 'Databases are not exposed outside the cluster',
  rationale:
    "A NodePort Service opens the database on every node's address, a LoadBalancer (or externalIPs) on an address outside the cluster: anyone who can reach it can try passwords and exploits against it, and NetworkPolicies written for pod-to-pod traffic do not stop them. Databases, caches, brokers and coordination services are reached by the app inside the cluster through a ClusterIP Service, and by people through `kubectl port-forward`.",
  severity: 'error',
  fixHint: hint(
    'Keep the data store behind a ClusterIP Service (the default type); administer it with `kubectl port-forward svc/db 5432:5432`.',
    `
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  type: ClusterIP          # not NodePort or LoadBalancer
  selector:
    app.kubernetes.io/name: db
  ports:
    - name: postgres
      port: 5432
      targetPort: postgres`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  options: z
    .object({
      /** Service types that expose a Service outside the cluster. */
      exposingTypes: z.array(z.enum(['NodePort', 'LoadBalancer'])).default(['NodePort', 'LoadBalancer']),
    })
    .strict(),
  run(context, options, reporter) {
    for (const { service, spec, selector } of context.index.selectingServices()) {
      // Object stores (MinIO) serve clients by design; the other data stores do not.
      const stores = context.index.workloadsSelectedBy(selector, service.namespace).filter((w) => {
        const store = context.index.stateful(w).dataStore?.store;
        return store !== undefined && store.category !== 'object store';
      });
      if (stores.length === 0) continue;
      const subject = service.ref;
      reporter.examine(subject);
      const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
      const externalIPs = asArray(spec.externalIPs);
      const byType = (options.exposingTypes as readonly string[]).includes(type);
      if (!byType && externalIPs.length === 0) continue;
      const workload = stores[0]!;
      const ports = asArray(spec.ports)
        .filter(isRecord)
        .map((p) => {
          const nodePort = asRecord(p).nodePort;
          return `${String(p.port)}${type === 'NodePort' && typeof nodePort === 'number' ? ` (node port ${nodePort})` : ''}`;
        });
      const where =
        type === 'NodePort'
          ? "on every node's address"
          : type === 'LoadBalancer'
            ? 'on a load balancer address outside the cluster'
            : `on the external IPs ${externalIPs.map(String).join(', ')}`;
      reporter.report({
        subject,
        message: `${subject} (${byType ? `type ${type}` : 'externalIPs'}) exposes ${workload.subject}, which ${describeStateful(context.index.stateful(workload))}, ${where}${ports.length > 0 ? ` on port ${ports.join(', ')}` : ''}: anyone who reaches it can try passwords and exploits against it. Use a ClusterIP Service and kubectl port-forward for administration`,
        location: byType ? service.locate(['spec', 'type']) : service.locate(['spec', 'externalIPs'], 'key'),
      });
    }
  },
});
