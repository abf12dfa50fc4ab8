/**
 * What every namespace of a grading job gets before the lab's objects:
 *
 *  - a default-deny egress NetworkPolicy: the lab's pods may talk to the
 *    job's own namespaces and to the cluster DNS, nothing else (not the API
 *    server, not other jobs, not the grading host, not 169.254.169.254);
 *  - a ResourceQuota and a LimitRange sized by the rubric, so one lab cannot
 *    take the grading machine's CPU and memory, and no NodePort or
 *    LoadBalancer Service can exist;
 *  - the RoleBindings that let labgrader-applier (the lab's identity) write
 *    there, and bind the ClusterRoles the rubric allows.
 *
 * All of them carry `app.kubernetes.io/managed-by: labgrader`, which the
 * admission policy protects from the lab.
 */
import { JOB_LABEL, MANAGED_BY, type Json } from '../labels.js';
import type { IsolationSettings } from '../settings.js';
import { APPLIER, JOB_OPERATOR_ROLE, LAB_AUTHOR_ROLE, SYSTEM_NAMESPACE } from './cluster-policy.js';

export const EGRESS_POLICY = 'labgrader-egress';
export const QUOTA = 'labgrader-quota';
export const LIMITS = 'labgrader-limits';

function meta(name: string, namespace: string, job: string): Json {
  return { name, namespace, labels: { ...MANAGED_BY, [JOB_LABEL]: job } };
}

export interface GuardrailOptions {
  namespace: string;
  job: string;
  isolation: IsolationSettings;
  /** Existing clusters: also bind the grader's own operating role here. */
  graderServiceAccount?: { name: string; namespace: string };
}

export function namespaceGuardrails(options: GuardrailOptions): Json[] {
  const { namespace, job, isolation } = options;
  const q = isolation.quota;
  const l = isolation.limits;
  const binding = (name: string, role: { kind: 'ClusterRole' | 'Role'; name: string }, subject: Json): Json => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(name, namespace, job),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...role },
    subjects: [subject],
  });
  const applier = { kind: 'ServiceAccount', name: APPLIER, namespace: SYSTEM_NAMESPACE };
  return [
    ...(options.graderServiceAccount
      ? [
          binding(
            'labgrader-grader',
            { kind: 'ClusterRole', name: JOB_OPERATOR_ROLE },
            { kind: 'ServiceAccount', ...options.graderServiceAccount },
          ),
        ]
      : []),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(EGRESS_POLICY, namespace, job),
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          { to: [{ namespaceSelector: { matchLabels: { [JOB_LABEL]: job } } }] },
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: meta(QUOTA, namespace, job),
      spec: {
        hard: {
          'requests.cpu': q.requestsCpu,
          'requests.memory': q.requestsMemory,
          'limits.cpu': q.limitsCpu,
          'limits.memory': q.limitsMemory,
          pods: String(q.pods),
          services: String(q.services),
          'services.nodeports': '0',
          'services.loadbalancers': '0',
          persistentvolumeclaims: String(q.persistentVolumeClaims),
          'requests.storage': q.requestsStorage,
          configmaps: String(q.configMaps),
          secrets: String(q.secrets),
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta(LIMITS, namespace, job),
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: l.defaultCpu, memory: l.defaultMemory },
            defaultRequest: { cpu: l.defaultRequestCpu, memory: l.defaultRequestMemory },
            max: { cpu: l.maxCpu, memory: l.maxMemory },
          },
        ],
      },
    },
    binding('labgrader-applier', { kind: 'ClusterRole', name: LAB_AUTHOR_ROLE }, applier),
    ...(isolation.allowedClusterRoles.length > 0
      ? [
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'Role',
            metadata: meta('labgrader-bind-allowed-roles', namespace, job),
            rules: [
              {
                apiGroups: ['rbac.authorization.k8s.io'],
                resources: ['clusterroles'],
                verbs: ['bind'],
                resourceNames: [...isolation.allowedClusterRoles],
              },
            ],
          },
          binding('labgrader-bind-allowed-roles', { kind: 'Role', name: 'labgrader-bind-allowed-roles' }, applier),
        ]
      : []),
  ];
}
