/**
 * The grading cluster's own guard rails: identities, RBAC and admission
 * policies that hold whatever a lab's manifests say.
 *
 *  - labgrader-applier: the identity every object of a lab is applied as
 *    (`kubectl --as`). It may write only namespaced lab kinds, only in the
 *    namespaces of a job (a RoleBinding per job namespace), so the API
 *    server itself refuses a ClusterRoleBinding, a PersistentVolume, a CRD or
 *    an object in kube-system, whatever labgrader's own planning missed. RBAC
 *    escalation prevention then bounds what a lab's Roles can grant: no more
 *    than labgrader-lab-author, in the lab's own namespaces.
 *  - ValidatingAdmissionPolicies: in job namespaces, no privileged or
 *    host-namespace pods, no hostPath volumes, no host ports (for every
 *    requester: pods are created by controllers); and for the applier, no
 *    NodePort/LoadBalancer/externalIPs Services, no hand-written Endpoints,
 *    no claims bound to a chosen PersistentVolume, no changes to what
 *    labgrader itself created.
 *  - labgrader-grader (existing clusters): the service's own identity, with
 *    only what a grading job needs (namespaces it labels as its own, and,
 *    in them, what the drills do), confined by an admission policy to the
 *    namespaces labelled as a job's.
 *
 * kind mode installs this bundle into each new cluster before anything of the
 * lab is applied; an existing cluster must have it (deploy/grading-cluster/,
 * generated from this file by `npm run grading-cluster-manifests`), and the
 * stage checks that it is enforced before deploying anything.
 */
import { stringify } from 'yaml';
import { JOB_LABEL, MANAGED_BY, type Json } from '../labels.js';

export const SYSTEM_NAMESPACE = 'labgrader-system';
export const APPLIER = 'labgrader-applier';
export const GRADER = 'labgrader-grader';
export const LAB_AUTHOR_ROLE = 'labgrader-lab-author';
export const JOB_OPERATOR_ROLE = 'labgrader-job-operator';
export const APPLIER_USER = `system:serviceaccount:${SYSTEM_NAMESPACE}:${APPLIER}`;
export const GRADER_USER = `system:serviceaccount:${SYSTEM_NAMESPACE}:${GRADER}`;
/** Names labgrader gives its own objects in job namespaces; a lab may not use them. */
export const RESERVED_NAME_PREFIX = 'labgrader-';
/** The ValidatingAdmissionPolicy names (the stage checks they exist in an existing cluster). */
export const POLICY_NAMES = {
  pods: 'labgrader-job-pods',
  labObjects: 'labgrader-lab-objects',
  grader: 'labgrader-grader-scope',
} as const;

const labels = { ...MANAGED_BY, 'app.kubernetes.io/part-of': 'labgrader' };
const VERBS_ALL = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const VERBS_READ = ['get', 'list', 'watch'];

/** The namespaced kinds a lab may create, by API group (RBAC plural names). */
export const LAB_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'pods',
    'services',
    'configmaps',
    'secrets',
    'serviceaccounts',
    'persistentvolumeclaims',
    'resourcequotas',
    'limitranges',
    'podtemplates',
    'replicationcontrollers',
  ],
  apps: ['deployments', 'statefulsets', 'daemonsets', 'replicasets', 'controllerrevisions'],
  batch: ['jobs', 'cronjobs'],
  autoscaling: ['horizontalpodautoscalers'],
  policy: ['poddisruptionbudgets'],
  'networking.k8s.io': ['networkpolicies', 'ingresses'],
  'rbac.authorization.k8s.io': ['roles', 'rolebindings'],
  'coordination.k8s.io': ['leases'],
};

/** What a lab's own Roles commonly grant its pods, which the applier must hold to be allowed to grant it. */
const LAB_READABLE: Readonly<Record<string, readonly string[]>> = {
  '': ['endpoints', 'events', 'pods/log', 'pods/status', 'services/status'],
  'discovery.k8s.io': ['endpointslices'],
  apps: ['deployments/scale', 'statefulsets/scale', 'deployments/status'],
};

function rulesFor(resources: Readonly<Record<string, readonly string[]>>, verbs: string[]): Json[] {
  return Object.entries(resources).map(([group, list]) => ({ apiGroups: [group], resources: [...list], verbs }));
}

const isApplier = `request.userInfo.username == '${APPLIER_USER}'`;
const isGrader = `request.userInfo.username == '${GRADER_USER}'`;
const inJobNamespace = `namespaceObject != null && has(namespaceObject.metadata.labels) && '${JOB_LABEL}' in namespaceObject.metadata.labels`;
const containerLists = ['containers', 'initContainers', 'ephemeralContainers'];
const everyContainer = (predicate: string) =>
  containerLists.map((list) => `(!has(object.spec.${list}) || object.spec.${list}.all(c, ${predicate}))`).join(' && ');
const resourceIs = (...names: string[]) =>
  names.length === 1
    ? `request.resource.resource == '${names[0]}'`
    : `request.resource.resource in ['${names.join("', '")}']`;

function policy(name: string, spec: Json): Json[] {
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: { failurePolicy: 'Fail', ...spec },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}

/** Every write to every resource, namespaced or not (the policies narrow it with matchConditions). */
const EVERY_WRITE: Json = {
  apiGroups: ['*'],
  apiVersions: ['*'],
  operations: ['CREATE', 'UPDATE', 'DELETE'],
  resources: ['*'],
  scope: '*',
};

/** Pods in job namespaces, whoever creates them (Deployments' pods are created by the ReplicaSet controller). */
function podPolicy(): Json[] {
  return policy(POLICY_NAMES.pods, {
    matchConstraints: {
      namespaceSelector: { matchExpressions: [{ key: JOB_LABEL, operator: 'Exists' }] },
      resourceRules: [
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['pods', 'pods/ephemeralcontainers'],
        },
      ],
    },
    validations: [
      {
        expression: ['hostNetwork', 'hostPID', 'hostIPC']
          .map((f) => `(!has(object.spec.${f}) || object.spec.${f} == false)`)
          .join(' && '),
        message: 'labgrader: pods of a lab may not share the node’s network, process or IPC namespace',
      },
      {
        expression: '!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))',
        message: 'labgrader: pods of a lab may not mount hostPath volumes (the grading node’s files)',
      },
      {
        expression: everyContainer(
          '!has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false',
        ),
        message: 'labgrader: pods of a lab may not run privileged containers',
      },
      {
        expression: everyContainer('!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)'),
        message: 'labgrader: pods of a lab may not bind ports of the node (hostPort)',
      },
    ],
  });
}

/** What the applier (a lab's manifests) may write, beyond what RBAC already confines. */
function labObjectPolicy(): Json[] {
  const managedByLabgrader = `oldObject != null && has(oldObject.metadata.labels) && 'app.kubernetes.io/managed-by' in oldObject.metadata.labels && oldObject.metadata.labels['app.kubernetes.io/managed-by'] == 'labgrader'`;
  return policy(POLICY_NAMES.labObjects, {
    matchConstraints: { resourceRules: [EVERY_WRITE] },
    matchConditions: [{ name: 'is-lab-applier', expression: isApplier }],
    validations: [
      {
        expression: `request.namespace != '' && ${inJobNamespace}`,
        message: 'labgrader: a lab may only create namespaced objects, in the namespaces of its grading job',
      },
      {
        expression: `!(${resourceIs('services')}) || request.operation == 'DELETE' || !has(object.spec.type) || object.spec.type in ['ClusterIP', 'ExternalName']`,
        message: 'labgrader: NodePort and LoadBalancer Services would expose the lab outside the grading cluster',
      },
      {
        expression: `!(${resourceIs('services')}) || request.operation == 'DELETE' || !has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0`,
        message: 'labgrader: Services with externalIPs can capture traffic meant for other addresses',
      },
      {
        expression: `!(${resourceIs('endpoints', 'endpointslices')})`,
        message: 'labgrader: hand-written Endpoints could send a Service’s traffic to any address',
      },
      {
        expression: `!(${resourceIs('persistentvolumeclaims')}) || request.operation == 'DELETE' || !has(object.spec.volumeName) || object.spec.volumeName == ''`,
        message: 'labgrader: a lab’s claims may not choose the PersistentVolume they bind to',
      },
      {
        expression: `request.operation == 'CREATE' || !(${managedByLabgrader})`,
        message:
          'labgrader: objects labgrader created for the grading job (quota, policies, roles) cannot be changed by the lab',
      },
    ],
  });
}

/** The grader's own identity in an existing cluster: writes only in namespaces labelled as a job's. */
function graderPolicy(): Json[] {
  const jobLabelled = (o: string) => `has(${o}.metadata.labels) && '${JOB_LABEL}' in ${o}.metadata.labels`;
  return policy(POLICY_NAMES.grader, {
    matchConstraints: { resourceRules: [EVERY_WRITE] },
    matchConditions: [
      { name: 'is-grader', expression: isGrader },
      {
        name: 'not-a-review',
        expression: `!(request.resource.group in ['authorization.k8s.io', 'authentication.k8s.io'])`,
      },
    ],
    validations: [
      {
        expression: `${resourceIs('namespaces')} ? (request.operation == 'CREATE' ? ${jobLabelled('object')} : (${jobLabelled('oldObject')} && (request.operation == 'DELETE' || ${jobLabelled('object')}))) : (request.namespace != '' && ${inJobNamespace})`,
        message:
          'labgrader: the grader may only create, change and delete namespaces labelled as a grading job’s, and objects in them',
      },
    ],
  });
}

export function clusterRoles(): Json[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: LAB_AUTHOR_ROLE,
        labels,
        annotations: {
          'labgrader.dev/purpose':
            'what a lab may create in the namespaces of its grading job (bound there to labgrader-applier)',
        },
      },
      rules: [...rulesFor(LAB_RESOURCES, VERBS_ALL), ...rulesFor(LAB_READABLE, VERBS_READ)],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: JOB_OPERATOR_ROLE,
        labels,
        annotations: {
          'labgrader.dev/purpose':
            'what the grader does in the namespaces of a grading job (bound there to labgrader-grader)',
        },
      },
      rules: [
        ...rulesFor(LAB_RESOURCES, VERBS_ALL),
        ...rulesFor(LAB_READABLE, VERBS_READ),
        { apiGroups: [''], resources: ['services/proxy'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: GRADER,
        labels,
        annotations: {
          'labgrader.dev/purpose':
            'the grading service in an existing cluster: its own namespaces (confined by the labgrader-grader-scope admission policy)',
        },
      },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
        // The first RoleBindings of a new job namespace (the policy keeps them there).
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: VERBS_ALL },
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['clusterroles'],
          verbs: ['bind'],
          resourceNames: [LAB_AUTHOR_ROLE, JOB_OPERATOR_ROLE, 'view'],
        },
        {
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'],
          verbs: ['get', 'list'],
        },
      ],
    },
  ];
}

/** Everything a grading cluster needs before its first job, in apply order. */
export function gradingClusterBundle(options: { grader: boolean }): Json[] {
  const applierImpersonation: Json[] = options.grader
    ? [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'labgrader-impersonate-applier', namespace: SYSTEM_NAMESPACE, labels },
          rules: [
            { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: [APPLIER] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'labgrader-impersonate-applier', namespace: SYSTEM_NAMESPACE, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'labgrader-impersonate-applier' },
          subjects: [{ kind: 'ServiceAccount', name: GRADER, namespace: SYSTEM_NAMESPACE }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: GRADER, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: GRADER },
          subjects: [{ kind: 'ServiceAccount', name: GRADER, namespace: SYSTEM_NAMESPACE }],
        },
      ]
    : [];
  const serviceAccount = (name: string): Json => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
    automountServiceAccountToken: false,
  });
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: SYSTEM_NAMESPACE, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' } },
    },
    serviceAccount(APPLIER),
    ...(options.grader ? [serviceAccount(GRADER)] : []),
    ...clusterRoles().filter((r) => options.grader || (r.metadata as Json).name === LAB_AUTHOR_ROLE),
    ...applierImpersonation,
    ...podPolicy(),
    ...labObjectPolicy(),
    ...(options.grader ? graderPolicy() : []),
  ];
}

/** The bundle as files for operators (deploy/grading-cluster/), grouped by concern. */
export function gradingClusterFiles(): { file: string; objects: Json[] }[] {
  const bundle = gradingClusterBundle({ grader: true });
  const kindOf = (o: Json) => String(o.kind);
  return [
    {
      file: '00-identities.yaml',
      objects: bundle.filter((o) => ['Namespace', 'ServiceAccount'].includes(kindOf(o))),
    },
    {
      file: '10-rbac.yaml',
      objects: bundle.filter((o) => ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(kindOf(o))),
    },
    {
      file: '20-admission-policies.yaml',
      objects: bundle.filter((o) => kindOf(o).startsWith('ValidatingAdmissionPolicy')),
    },
  ];
}

const GENERATED_HEADER = [
  '# Generated by `npm run grading-cluster` from packages/cluster/src/isolation/cluster-policy.ts:',
  '# edit that file, not this one. See deploy/grading-cluster/README.md.',
  '',
].join('\n');

/** deploy/grading-cluster/ as it must be on disk: file name → text (a test keeps the two equal). */
export function renderGradingClusterFiles(): Record<string, string> {
  const files = gradingClusterFiles();
  const out: Record<string, string> = {};
  for (const { file, objects } of files) {
    out[file] =
      GENERATED_HEADER + objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
  }
  out['kustomization.yaml'] =
    GENERATED_HEADER +
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: files.map((f) => f.file),
    });
  return out;
}
