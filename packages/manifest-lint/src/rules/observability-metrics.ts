import { z } from 'zod';
import { asRecord, type KubeObject } from '../model/object.js';
import {
  ALL_NAMESPACES,
  inScope,
  mapSelector,
  selectorMatches,
  toLabelSelector,
  type LabelSelector,
  type NamespaceScope,
} from '../model/selectors.js';
import { containerPorts, type Workload } from '../model/workloads.js';
import { stringMap } from '../model/workloads.js';
import { defineRule, hint } from './support/rule.js';

const SERVICE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export const observabilityMetrics = defineRule({
  id: 'lint/observability-metrics',
  title: 'Workloads expose metrics',
  rationale:
    "You cannot operate what you cannot see: alerts, autoscaling on custom metrics and incident analysis need each service's metrics scraped. Declaring the metrics port (or a ServiceMonitor/PodMonitor) is what tells Prometheus where to look.",
  severity: 'info',
  fixHint: hint(
    'Name the metrics port and let Prometheus find it (a ServiceMonitor/PodMonitor with the Prometheus Operator, or scrape annotations).',
    `
ports:
  - name: metrics
    containerPort: 9090
# with the Prometheus Operator:
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  podMetricsEndpoints:
    - port: metrics`,
  ),
  docsUrl: 'https://kubernetes.io/docs/concepts/cluster-administration/system-metrics/',
  options: z
    .object({
      /** Port names that serve metrics (regular expression). */
      portNamePattern: z.string().default('^(metrics|http-metrics|prom|prometheus|.*-metrics)$'),
    })
    .strict(),
  run(context, options, reporter) {
    const portName = new RegExp(options.portNamePattern, 'i');
    const services = context.index.ofKind('Service');
    const serviceMonitors = context.index.ofKind('ServiceMonitor');
    const podMonitors = context.index.ofKind('PodMonitor');
    // Workloads scraped through a Service (annotation or ServiceMonitor) or a PodMonitor, found by inverting the selectors once.
    const scraped = new Set<Workload>();
    const monitored = (monitor: KubeObject): { selector: LabelSelector | undefined; namespace: NamespaceScope } => {
      const selector = toLabelSelector(monitor.get(['spec', 'selector']));
      const anyNamespace = asRecord(monitor.get(['spec', 'namespaceSelector'])).any === true;
      return { selector, namespace: anyNamespace ? ALL_NAMESPACES : monitor.namespace };
    };
    for (const monitor of podMonitors) {
      const { selector, namespace } = monitored(monitor);
      if (selector) for (const w of context.index.podsSelectedBy(selector, namespace)) scraped.add(w);
    }
    const monitoredServices = new Set<KubeObject>();
    for (const monitor of serviceMonitors) {
      const { selector, namespace } = monitored(monitor);
      if (!selector) continue;
      for (const service of services) {
        if (inScope(service.namespace, namespace) && selectorMatches(selector, stringMap(service.labels)))
          monitoredServices.add(service);
      }
    }
    for (const service of services) {
      const selector = service.get(['spec', 'selector']);
      if (!selector) continue;
      if (service.annotations['prometheus.io/scrape'] !== 'true' && !monitoredServices.has(service)) continue;
      for (const w of context.index.podsSelectedBy(mapSelector(selector), service.namespace)) scraped.add(w);
    }
    const exposes = (workload: Workload): boolean => {
      if (scraped.has(workload)) return true;
      if (workload.containers.some((c) => containerPorts(c).some((p) => p.name && portName.test(p.name)))) return true;
      const templateAnnotations = stringMap(workload.object.get([...workload.labelsPath.slice(0, -1), 'annotations']));
      return templateAnnotations['prometheus.io/scrape'] === 'true';
    };
    for (const workload of context.index.workloads) {
      if (!SERVICE_KINDS.has(workload.kind)) continue;
      reporter.examine(workload.subject);
      if (exposes(workload)) continue;
      reporter.report({
        subject: workload.subject,
        message: `${workload.subject} exposes no metrics: no port named like "metrics", no prometheus.io/scrape annotation, no ServiceMonitor or PodMonitor`,
        location: workload.object.locate(['metadata', 'name']),
      });
    }
  },
});
