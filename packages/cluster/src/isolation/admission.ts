/**
 * What of a lab is applied to the grading cluster: an allow-list, decided
 * before anything is applied. Every object is examined by the admission
 * rules below, in order; each rule admits it, changes it (with a note the
 * student sees), or refuses it with the reason, at its manifest line.
 *
 * Only namespaced kinds the cluster serves are applied, in the job's own
 * namespaces. Cluster-scoped objects are refused, except ClusterRoles and
 * ClusterRoleBindings that can keep their meaning as Roles and RoleBindings
 * in the job's namespaces. The cluster's RBAC and admission policies
 * (cluster-policy.ts) enforce the same boundary again, in case this code
 * misses something: this layer exists to explain, that one to hold.
 */
import type { SourceLocation } from '@labgrader/core';
import { toWorkload, type KubeObject } from '@labgrader/manifest-lint';
import { JOB_LABEL, MANAGED_BY, type Json } from '../labels.js';
import type { IsolationSettings } from '../settings.js';
import type { ApiScopes } from './api-resources.js';
import { RESERVED_NAME_PREFIX } from './cluster-policy.js';

export interface Refusal {
  source: KubeObject;
  subject: string;
  /** Which rule refused it (`cluster-scoped`, `rbac-binding`…). */
  rule: string;
  /** Addressed to the student: why a lab may not do this, and what to do instead. */
  reason: string;
  location: SourceLocation;
}

export interface Change {
  source: KubeObject;
  subject: string;
  rule: string;
  /** What was changed and why. */
  change: string;
  location: SourceLocation;
}

/** What the rules know about the lab and the job. */
export interface AdmissionContext {
  scopes: ApiScopes;
  isolation: IsolationSettings;
  /** Lab namespace (as written) → the job's namespace. */
  effectiveNamespace: (namespace: string | undefined) => string;
  /** The lab's namespaces, as written (defined or used). */
  labNamespaces: ReadonlySet<string>;
  /** `namespace/name` of the Roles the lab defines (namespaces as written). */
  labRoles: ReadonlySet<string>;
  /** Names of the lab's ClusterRoles that become Roles in every job namespace. */
  convertedClusterRoles: ReadonlySet<string>;
  /** Addresses the grader probes the lab's Services from (node IPs): admitted by the lab's ingress policies. */
  probeSources: readonly string[];
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

function asRecord(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

type Path = (string | number)[];

export interface NamespacedVerdict {
  refusal?: Refusal;
  changes: Change[];
}

/** Why a cluster-scoped kind cannot be part of a lab, in the student's terms. */
function clusterScopedReason(kind: string): string {
  const why: Record<string, string> = {
    PersistentVolume:
      'a PersistentVolume is cluster-wide storage (a hostPath one is the grading node’s own disk); claim storage with a PersistentVolumeClaim and let the cluster provision it',
    CustomResourceDefinition:
      'CustomResourceDefinitions change the API of the whole cluster; a lab installs none (vendor the operator’s objects you need, or leave them out)',
    ValidatingWebhookConfiguration: 'admission webhooks intercept every request to the cluster, not only the lab’s',
    MutatingWebhookConfiguration: 'admission webhooks intercept every request to the cluster, not only the lab’s',
    ClusterRoleBinding: 'a ClusterRoleBinding grants permissions in every namespace of the cluster',
    ClusterRole: 'a ClusterRole grants permissions across the cluster',
    StorageClass: 'StorageClasses are the cluster operator’s choice, not the lab’s',
    PriorityClass: 'PriorityClasses let pods preempt everyone else’s',
    Node: 'nodes belong to the cluster',
  };
  return `${why[kind] ?? `${kind} is cluster-scoped: it would outlive the grading job and affect every other job in the cluster`}. A lab’s objects live in its own namespaces, so labgrader does not apply it.`;
}

function refusal(object: KubeObject, rule: string, reason: string, path: Path = []): Refusal {
  return {
    source: object,
    subject: object.ref,
    rule,
    reason,
    location: path.length ? object.locate(path, 'key') : object.startLocation(),
  };
}

function change(object: KubeObject, rule: string, text: string, path: Path = []): Change {
  return {
    source: object,
    subject: object.ref,
    rule,
    change: text,
    location: path.length ? object.locate(path, 'key') : object.startLocation(),
  };
}

/** Labels and names labgrader reserves for itself (its guard rails, its job label, its managed-by marker). */
function reservedMarkers(object: KubeObject, manifest: Json): { refusal?: Refusal; changes: Change[] } {
  if (object.name.startsWith(RESERVED_NAME_PREFIX)) {
    return {
      refusal: refusal(
        object,
        'reserved-name',
        `names starting with "${RESERVED_NAME_PREFIX}" are reserved for the objects labgrader adds to the grading namespaces; rename it`,
        ['metadata', 'name'],
      ),
      changes: [],
    };
  }
  const changes: Change[] = [];
  const labels = asRecord(asRecord(manifest.metadata).labels);
  for (const key of Object.keys(labels)) {
    const reserved =
      key.startsWith('labgrader.dev/') || (key === 'app.kubernetes.io/managed-by' && labels[key] === 'labgrader');
    if (reserved) {
      delete labels[key];
      changes.push(
        change(object, 'reserved-label', `the label ${key} is labgrader’s own and was removed`, [
          'metadata',
          'labels',
          key,
        ]),
      );
    }
  }
  return { changes };
}

function inLab(ctx: AdmissionContext, namespace: string | undefined): boolean {
  return namespace === undefined || ctx.labNamespaces.has(namespace);
}

/**
 * RoleBindings (and ClusterRoleBindings converted to them): subjects must be
 * ServiceAccounts of the lab's namespaces; the role must be one of the lab's
 * Roles in the same namespace, a converted ClusterRole of the lab, or a
 * ClusterRole the rubric allows.
 */
function checkBinding(
  object: KubeObject,
  manifest: Json,
  bindingNamespace: string | undefined,
  ctx: AdmissionContext,
): NamespacedVerdict {
  const changes: Change[] = [];
  // Subjects are judged as the student wrote them (the manifest's namespaces may be the job's already).
  const subjects = asList(object.value.subjects);
  for (const [i, raw] of subjects.entries()) {
    const subject = asRecord(raw);
    const kind = subject.kind;
    const namespace = typeof subject.namespace === 'string' ? subject.namespace : bindingNamespace;
    if (kind === 'ServiceAccount' && inLab(ctx, namespace)) continue;
    const who =
      kind === 'ServiceAccount'
        ? `the ServiceAccount ${String(subject.namespace)}/${String(subject.name)}, which is not the lab’s`
        : `the ${String(kind)} "${String(subject.name)}"${String(subject.name).startsWith('system:') ? ' (a built-in identity of the cluster)' : ''}`;
    return {
      refusal: refusal(
        object,
        'rbac-binding',
        `it grants permissions to ${who}; a lab’s bindings may only name ServiceAccounts of the lab’s own namespaces`,
        ['subjects', i],
      ),
      changes,
    };
  }
  const roleRef = asRecord(manifest.roleRef);
  const name = String(roleRef.name ?? '');
  if (roleRef.kind === 'Role') {
    if (ctx.labRoles.has(`${bindingNamespace ?? 'default'}/${name}`) || ctx.convertedClusterRoles.has(name)) {
      return { changes };
    }
    return {
      refusal: refusal(
        object,
        'rbac-binding',
        `it binds the Role "${name}", which the lab does not define in ${bindingNamespace ?? 'default'}; bind a Role the lab defines in the same namespace`,
        ['roleRef', 'name'],
      ),
      changes,
    };
  }
  if (roleRef.kind === 'ClusterRole') {
    if (ctx.convertedClusterRoles.has(name)) {
      roleRef.kind = 'Role';
      changes.push(
        change(
          object,
          'rbac-binding',
          `it now refers to the Role "${name}", which labgrader made of the lab’s ClusterRole in each of the job’s namespaces`,
          ['roleRef', 'kind'],
        ),
      );
      return { changes };
    }
    if (ctx.isolation.allowedClusterRoles.includes(name)) return { changes };
    const builtin = ['cluster-admin', 'admin', 'edit'].includes(name) || name.startsWith('system:');
    return {
      refusal: refusal(
        object,
        'rbac-binding',
        `it binds the ClusterRole "${name}"${builtin ? ', one of the cluster’s own roles, which would give the lab’s pods control beyond the lab' : ', which the lab does not define'}; a lab may bind its own Roles${ctx.isolation.allowedClusterRoles.length ? ` or the ClusterRole${ctx.isolation.allowedClusterRoles.length === 1 ? '' : 's'} ${ctx.isolation.allowedClusterRoles.join(', ')}` : ''}`,
        ['roleRef', 'name'],
      ),
      changes,
    };
  }
  return {
    refusal: refusal(
      object,
      'rbac-binding',
      `its roleRef kind "${String(roleRef.kind)}" is neither Role nor ClusterRole`,
      ['roleRef'],
    ),
    changes,
  };
}

const EXPOSED_TYPES = new Set(['NodePort', 'LoadBalancer']);
const LOAD_BALANCER_FIELDS = [
  'loadBalancerIP',
  'loadBalancerSourceRanges',
  'loadBalancerClass',
  'allocateLoadBalancerNodePorts',
  'externalTrafficPolicy',
  'healthCheckNodePort',
];

function checkService(object: KubeObject, manifest: Json, ctx: AdmissionContext): NamespacedVerdict {
  const changes: Change[] = [];
  const spec = asRecord(manifest.spec);
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  if (EXPOSED_TYPES.has(type)) {
    if (ctx.isolation.exposedServices === 'refuse') {
      return {
        refusal: refusal(
          object,
          'exposed-service',
          `a ${type} Service opens a port on the grading machine's nodes; use a ClusterIP Service (the grading probes reach it from inside the cluster)`,
          ['spec', 'type'],
        ),
        changes,
      };
    }
    spec.type = 'ClusterIP';
    for (const field of LOAD_BALANCER_FIELDS) delete spec[field];
    for (const port of asList(spec.ports)) delete asRecord(port).nodePort;
    changes.push(
      change(
        object,
        'exposed-service',
        `served as a ClusterIP Service while grading: a ${type} Service would open a port on the grading machine (in production, expose it through an Ingress or a load balancer you control)`,
        ['spec', 'type'],
      ),
    );
  }
  if (asList(spec.externalIPs).length > 0) {
    delete spec.externalIPs;
    changes.push(
      change(
        object,
        'exposed-service',
        'its externalIPs were removed while grading: they make kube-proxy capture traffic meant for those addresses, the grading machine’s included',
        ['spec', 'externalIPs'],
      ),
    );
  }
  return { changes };
}

function checkClaim(object: KubeObject, manifest: Json): NamespacedVerdict {
  const spec = asRecord(manifest.spec);
  if (typeof spec.volumeName === 'string' && spec.volumeName) {
    return {
      refusal: refusal(
        object,
        'volume-claim',
        `it binds itself to the PersistentVolume "${spec.volumeName}", which could be anyone’s data; leave out volumeName and let the cluster provision the claim`,
        ['spec', 'volumeName'],
      ),
      changes: [],
    };
  }
  const sourceNamespace = asRecord(spec.dataSourceRef).namespace;
  if (typeof sourceNamespace === 'string' && sourceNamespace) {
    return {
      refusal: refusal(
        object,
        'volume-claim',
        `it copies its data from the namespace "${sourceNamespace}"; a lab’s claims may only use data of the lab`,
        ['spec', 'dataSourceRef', 'namespace'],
      ),
      changes: [],
    };
  }
  return { changes: [] };
}

/** Pod templates: PriorityClasses and RuntimeClasses the rubric does not allow are left out. */
function checkPodTemplate(object: KubeObject, manifest: Json, ctx: AdmissionContext): NamespacedVerdict {
  const workload = toWorkload(object);
  if (!workload) return { changes: [] };
  let podSpec: unknown = manifest;
  for (const key of workload.podSpecPath) podSpec = asRecord(podSpec)[key as string];
  const spec = asRecord(podSpec);
  const changes: Change[] = [];
  const strip = (field: 'priorityClassName' | 'runtimeClassName', allowed: readonly string[], why: string) => {
    const value = spec[field];
    if (typeof value !== 'string' || allowed.includes(value)) return;
    delete spec[field];
    changes.push(
      change(object, 'pod-template', `its ${field} "${value}" was left out while grading: ${why}`, [
        ...workload.podSpecPath,
        field,
      ]),
    );
  };
  strip(
    'priorityClassName',
    ctx.isolation.allowedPriorityClasses,
    'a priority class lets the lab’s pods preempt other pods of the cluster',
  );
  strip(
    'runtimeClassName',
    ctx.isolation.allowedRuntimeClasses,
    'a runtime class chooses how the node runs containers, which is the cluster operator’s choice',
  );
  return { changes };
}

/**
 * NetworkPolicies add up: a lab's policy that allows egress to everything
 * would undo the job's default-deny egress. Egress peers are narrowed to the
 * job's own namespaces: IP blocks are dropped, namespace selectors also
 * require the job label, and a rule that allowed every destination allows
 * the job's namespaces.
 */
function checkNetworkPolicy(
  object: KubeObject,
  manifest: Json,
  ctx: AdmissionContext & { job: string },
): NamespacedVerdict {
  const { job } = ctx;
  const jobNamespaces = new Set([...ctx.labNamespaces].map((ns) => ctx.effectiveNamespace(ns)));
  const changes: Change[] = [];
  const spec = asRecord(manifest.spec);
  const jobPeer = (): Json => ({ namespaceSelector: { matchLabels: { [JOB_LABEL]: job } } });
  for (const [i, raw] of asList(spec.egress).entries()) {
    const rule = asRecord(raw);
    const peers = asList(rule.to);
    if (peers.length === 0) {
      rule.to = [jobPeer()];
      changes.push(
        change(
          object,
          'network-policy',
          'its egress rule that allowed every destination allows only the lab’s own namespaces while grading (the grading cluster has no outside to reach)',
          ['spec', 'egress', i],
        ),
      );
      continue;
    }
    const kept: Json[] = [];
    for (const [j, rawPeer] of peers.entries()) {
      const peer = asRecord(rawPeer);
      if (peer.ipBlock !== undefined) {
        changes.push(
          change(
            object,
            'network-policy',
            'its ipBlock egress peer was left out while grading (no address outside the lab may be reached)',
            ['spec', 'egress', i, 'to', j],
          ),
        );
        continue;
      }
      if (peer.namespaceSelector !== undefined) {
        const selector = asRecord(peer.namespaceSelector);
        const isDns =
          asRecord(selector.matchLabels)['kubernetes.io/metadata.name'] === 'kube-system' &&
          asRecord(asRecord(peer.podSelector).matchLabels)['k8s-app'] === 'kube-dns';
        if (!isDns) {
          const target = asRecord(selector.matchLabels)['kubernetes.io/metadata.name'];
          selector.matchLabels = { ...asRecord(selector.matchLabels), [JOB_LABEL]: job };
          if (!(typeof target === 'string' && jobNamespaces.has(target))) {
            changes.push(
              change(
                object,
                'network-policy',
                `its egress to ${typeof target === 'string' ? `the namespace ${target}` : 'other namespaces'} allows only the lab’s own namespaces while grading`,
                ['spec', 'egress', i, 'to', j],
              ),
            );
          }
        }
        peer.namespaceSelector = selector;
      }
      kept.push(peer);
    }
    if (kept.length === 0) {
      rule.to = [jobPeer()];
    } else rule.to = kept;
  }
  // A policy that isolates pods for ingress must still let the grader's probes in (policies add up).
  const types = asList(spec.policyTypes);
  const isolatesIngress = types.length === 0 ? true : types.includes('Ingress');
  if (isolatesIngress && ctx.probeSources.length > 0) {
    spec.ingress = [
      ...asList(spec.ingress),
      { from: ctx.probeSources.map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })) },
    ];
  }
  return { changes };
}

/** Everything but the cluster-scoped decision: for a namespaced object of the lab. */
export function admitNamespaced(
  object: KubeObject,
  manifest: Json,
  ctx: AdmissionContext & { job: string },
): NamespacedVerdict {
  const changes: Change[] = [];
  const merge = (verdict: NamespacedVerdict): Refusal | undefined => {
    changes.push(...verdict.changes);
    return verdict.refusal;
  };
  if (SYSTEM_NAMESPACES.has(object.namespace ?? '')) {
    return {
      refusal: refusal(
        object,
        'system-namespace',
        `it is in the cluster’s own ${object.namespace} namespace, where the cluster’s components run; put the lab’s objects in the lab’s namespaces`,
        ['metadata', 'namespace'],
      ),
      changes,
    };
  }
  const reserved = merge(reservedMarkers(object, manifest));
  if (reserved) return { refusal: reserved, changes };
  let found: Refusal | undefined;
  switch (object.kind) {
    case 'Endpoints':
    case 'EndpointSlice':
      found = refusal(
        object,
        'manual-endpoints',
        `hand-written ${object.kind} can send a Service’s traffic to any address, the grading machine’s included; let the Service’s selector choose its pods`,
      );
      break;
    case 'RoleBinding':
      found = merge(checkBinding(object, manifest, object.namespace, ctx));
      break;
    case 'Service':
      found = merge(checkService(object, manifest, ctx));
      break;
    case 'PersistentVolumeClaim':
      found = merge(checkClaim(object, manifest));
      break;
    case 'NetworkPolicy':
      found = merge(checkNetworkPolicy(object, manifest, ctx));
      break;
    default:
      found = merge(checkPodTemplate(object, manifest, ctx));
  }
  return found ? { refusal: found, changes } : { changes };
}

/** Namespaced only: a kind the cluster serves, in the namespaced scope. */
export function scopeVerdict(object: KubeObject, scopes: ApiScopes): 'namespaced' | 'cluster' | 'unknown' {
  const scope = scopes.scopeOf(object.apiVersion, object.kind);
  return scope ?? 'unknown';
}

export function unknownKindRefusal(object: KubeObject, scopes: ApiScopes): Refusal {
  return refusal(
    object,
    'served-kinds',
    `the grading cluster does not serve ${object.apiVersion} ${object.kind} (checked against ${scopes.source}); a lab may only create kinds the cluster already has, and installs no CustomResourceDefinitions`,
    ['kind'],
  );
}

/**
 * Whether a lab ClusterRole keeps its meaning as a Role in each namespace:
 * every rule names resources that are namespaced (no wildcards, no
 * non-resource URLs, no cluster-scoped resources) and it aggregates nothing.
 */
export function clusterRoleAsRole(
  object: KubeObject,
  scopes: ApiScopes,
): { ok: true } | { ok: false; why: string; path: Path } {
  const value = object.value;
  if (value.aggregationRule !== undefined) {
    return { ok: false, why: 'it aggregates other ClusterRoles', path: ['aggregationRule'] };
  }
  for (const [i, raw] of asList(value.rules).entries()) {
    const rule = asRecord(raw);
    if (asList(rule.nonResourceURLs).length > 0) {
      return {
        ok: false,
        why: 'it grants non-resource URLs, which only exist cluster-wide',
        path: ['rules', i, 'nonResourceURLs'],
      };
    }
    for (const group of asList(rule.apiGroups)) {
      for (const resource of asList(rule.resources)) {
        if (group === '*' || resource === '*' || typeof resource !== 'string' || typeof group !== 'string') {
          return { ok: false, why: 'it grants wildcards, which include cluster-scoped resources', path: ['rules', i] };
        }
        if (scopes.resourceScope(group, resource) !== 'namespaced') {
          return {
            ok: false,
            why: `it grants "${resource}"${group ? ` (${group})` : ''}, which is not a namespaced resource`,
            path: ['rules', i, 'resources'],
          };
        }
      }
    }
  }
  return { ok: true };
}

export interface ClusterScopedOutcome {
  refusal?: Refusal;
  /** Objects to apply instead, one per job namespace. */
  replacements: { manifest: Json; namespace: string }[];
  changes: Change[];
}

/**
 * Cluster-scoped objects of the lab: a ClusterRole that keeps its meaning as
 * a Role becomes one Role per job namespace; a ClusterRoleBinding becomes a
 * RoleBinding per job namespace (subject to the binding rules); everything
 * else is refused.
 */
export function admitClusterScoped(
  object: KubeObject,
  manifest: Json,
  ctx: AdmissionContext & { job: string },
  jobNamespaces: readonly string[],
): ClusterScopedOutcome {
  const metadataOf = (ns: string): Json => {
    const metadata = structuredClone(asRecord(manifest.metadata));
    const labels = asRecord(metadata.labels);
    for (const key of Object.keys(labels)) {
      // An aggregation label on a Role would mean nothing; on the cluster's roles it widens them for everyone.
      if (key.startsWith('rbac.authorization.k8s.io/aggregate-to-') || key.startsWith('labgrader.dev/'))
        delete labels[key];
    }
    return { ...metadata, namespace: ns, labels: { ...labels, [JOB_LABEL]: ctx.job } };
  };
  if (object.name.startsWith(RESERVED_NAME_PREFIX)) {
    return { refusal: reservedMarkers(object, manifest).refusal!, replacements: [], changes: [] };
  }
  if (object.kind === 'ClusterRole' && ctx.convertedClusterRoles.has(object.name)) {
    return {
      replacements: jobNamespaces.map((ns) => ({
        namespace: ns,
        manifest: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: metadataOf(ns),
          rules: manifest.rules ?? [],
        },
      })),
      changes: [
        change(
          object,
          'cluster-scoped',
          `applied as a Role "${object.name}" in each of the lab’s namespaces: it grants only namespaced resources, so it means the same there, without reaching the rest of the cluster`,
          ['kind'],
        ),
      ],
    };
  }
  if (object.kind === 'ClusterRole') {
    const fit = clusterRoleAsRole(object, ctx.scopes);
    const why = fit.ok ? '' : fit.why;
    return {
      refusal: refusal(
        object,
        'cluster-scoped',
        `${clusterScopedReason('ClusterRole').replace(/\.$/, '')}, and it cannot become a Role of the lab's namespaces: ${why}. Grant the lab’s pods a Role with the namespaced permissions they need.`,
        fit.ok ? ['kind'] : fit.path,
      ),
      replacements: [],
      changes: [],
    };
  }
  if (object.kind === 'ClusterRoleBinding') {
    const replacements: ClusterScopedOutcome['replacements'] = [];
    let changes: Change[] = [];
    for (const ns of jobNamespaces) {
      const binding: Json = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: metadataOf(ns),
        roleRef: structuredClone(manifest.roleRef),
        subjects: structuredClone(manifest.subjects ?? []),
      };
      // The binding is judged like the lab's own RoleBindings (subjects, role), once.
      const verdict = checkBinding(object, binding, undefined, ctx);
      if (verdict.refusal) return { refusal: verdict.refusal, replacements: [], changes: [] };
      if (changes.length === 0) changes = verdict.changes;
      replacements.push({ namespace: ns, manifest: binding });
    }
    changes.push(
      change(
        object,
        'cluster-scoped',
        'applied as a RoleBinding in each of the lab’s namespaces: a ClusterRoleBinding would grant its role in every namespace of the cluster',
        ['kind'],
      ),
    );
    return { replacements, changes };
  }
  return {
    refusal: refusal(object, 'cluster-scoped', clusterScopedReason(object.kind), ['kind']),
    replacements: [],
    changes: [],
  };
}

/** Labels of a job namespace: the job's, Pod Security enforced at least at `level`, and nothing of labgrader's set by the lab. */
export function jobNamespaceLabels(labels: Json, job: string): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('labgrader.dev/')) continue;
    // Pinning an old Pod Security version would weaken the checks; the current version applies.
    if (/^pod-security\.kubernetes\.io\/(enforce|audit|warn)-version$/.test(key)) continue;
    out[key] = value;
  }
  return { ...out, ...MANAGED_BY, [JOB_LABEL]: job };
}
