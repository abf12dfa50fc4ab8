import { z } from 'zod';
import { asRecord, type KubeObject } from '../model/object.js';
import { mapSelector, sameNamespace, selectorMatches, toLabelSelector } from '../model/selectors.js';
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
    const monitorSelects = (monitor: KubeObject, labels: Record<string, string>, namespace: string | undefined) => {
      const selector = toLabelSelector(monitor.get(['spec', 'selector']));
      const anyNamespace = asRecord(monitor.get(['spec', 'namespaceSelector'])).any === true;
      return (
        selector !== undefined &&
        (anyNamespace || sameNamespace(monitor.namespace, namespace)) &&
        selectorMatches(selector, labels)
      );
    };
    const exposes = (workload: Workload): boolean => {
      if (workload.containers.some((c) => containerPorts(c).some((p) => p.name && portName.test(p.name)))) return true;
      const templateAnnotations = stringMap(workload.object.get([...workload.labelsPath.slice(0, -1), 'annotations']));
      if (templateAnnotations['prometheus.io/scrape'] === 'true') return true;
      if (podMonitors.some((m) => monitorSelects(m, workload.labels, workload.object.namespace))) return true;
      return services.some((service) => {
        const selector = service.get(['spec', 'selector']);
        if (
          !selector ||
          !selectorMatches(mapSelector(selector), workload.labels) ||
          !sameNamespace(service.namespace, workload.object.namespace)
        )
          return false;
        if (service.annotations['prometheus.io/scrape'] === 'true') return true;
        return serviceMonitors.some((m) => monitorSelects(m, stringMap(service.labels), service.namespace));
      });
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
