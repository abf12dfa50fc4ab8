/**
 * The deployment plan: what the student's manifests ask for, as objects to
 * apply, in which namespaces, plus what the stage adds (namespaces the
 * manifests use without defining them, the Secrets they expect to be created
 * out of band) and what the drills target (the main workload and Service).
 *
 * In an existing cluster every namespace of the lab is renamed to a
 * job-private one (`lg-<job>-lab85`), references to it are rewritten, and
 * cluster-scoped objects are either renamed (RBAC) or left out, so that
 * concurrent jobs and the cluster's own workloads never meet.
 */
import type { KubeReference, SourceLocation } from '@labgrader/core';
import {
  inventoryOf,
  mapSelector,
  selectorMatches,
  toLabelSelector,
  toWorkload,
  type KubeObject,
  type LabelSelector,
  type Workload,
} from '@labgrader/manifest-lint';
import {
  admitClusterScoped,
  admitNamespaced,
  clusterRoleAsRole,
  jobNamespaceLabels,
  unknownKindRefusal,
  type AdmissionContext,
  type Change,
  type Refusal,
} from './isolation/admission.js';
import { bundledScopes, type ApiScopes } from './isolation/api-resources.js';
import { isolationSettingsSchema, type IsolationSettings } from './settings.js';

import { JOB_LABEL, MANAGED_BY, type Json } from './labels.js';

export { JOB_LABEL, MANAGED_BY, type Json };

/** Namespaces that exist in every cluster. */
const BUILTIN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
/** Kinds whose pods run continuously: the ones the stage waits for and drills. */
const SERVING = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
const PSA_ENFORCE = 'pod-security.kubernetes.io/enforce';
const PSA_RANK: Record<string, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** Namespace labels with Pod Security enforced at `level` at least (a stricter level is kept). */
export function withPodSecurity(labels: Record<string, unknown>, level: PodSecurityLevel): Record<string, unknown> {
  const current = labels[PSA_ENFORCE];
  const rank = typeof current === 'string' ? PSA_RANK[current] : undefined;
  if (rank !== undefined && rank >= PSA_RANK[level]!) return labels;
  return level === 'privileged' && current === undefined ? labels : { ...labels, [PSA_ENFORCE]: level };
}

export interface NamespaceMapping {
  /** `existing`: rename into job-private namespaces; `kind`: keep names (the cluster is private). */
  mode: 'kind' | 'existing';
  /** Job id, for labels and names. */
  job: string;
  /** Existing clusters: `<prefix>-<job>-<namespace>`. */
  prefix?: string;
}

export interface PlannedObject {
  source: KubeObject;
  /** What is sent to the API server (namespace and names rewritten as needed). */
  manifest: Json;
  /** Effective namespace (undefined for cluster-scoped objects). */
  namespace?: string;
  /** `Deployment lab85/web`, with the names as the student wrote them. */
  subject: string;
}

export interface PlannedWorkload {
  source: KubeObject;
  workload: Workload;
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
  /** Effective namespace in the cluster. */
  namespace: string;
  selector: LabelSelector;
  /** For `kubectl get pods -l`. */
  selectorArg: string;
  subject: string;
}

export interface PlannedService {
  source: KubeObject;
  name: string;
  namespace: string;
  subject: string;
  selector: Record<string, string>;
  /** The port probed (named http, else the first TCP port). */
  port?: { port: number; name?: string };
  headless: boolean;
}

export interface PlannedSecret {
  name: string;
  namespace: string;
  /** Keys the workloads read from it (may be empty: envFrom, whole-volume mounts). */
  keys: string[];
  /** Where the manifests refer to it. */
  references: SourceLocation[];
  /** `lab85/web-secrets`, as the student wrote it. */
  subject: string;
}

export interface DeployPlan {
  mapping: NamespaceMapping;
  /** Enforced at least on every namespace the job creates. */
  podSecurity: PodSecurityLevel;
  /** Namespace objects of the manifests (renamed in existing clusters). */
  namespaceObjects: PlannedObject[];
  /** Namespaces used but not defined by the manifests, which the stage creates (effective names). */
  extraNamespaces: string[];
  /** Every effective namespace the job uses (for listing and, in existing clusters, deleting). */
  namespaces: string[];
  /** Everything else, in manifest order. */
  objects: PlannedObject[];
  workloads: PlannedWorkload[];
  services: PlannedService[];
  /** Images of every container, init containers included. */
  images: string[];
  secrets: PlannedSecret[];
  /** Objects of the lab that are not applied, each with the reason and its line (see isolation/admission.ts). */
  refused: Refusal[];
  /** What was changed in the lab's objects to grade them safely (NodePort → ClusterIP…), with the reason. */
  changes: Change[];
  /** Where the kinds' scopes came from (the cluster's discovery, or the bundled schema before it exists). */
  scopesSource: string;
  /** Effective name → name in the manifests, to talk to students in their own terms. */
  originalNamespace: ReadonlyMap<string, string>;
}

function asRecord(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** `lg-3fa9c2-lab85`: a DNS label of at most 63 characters. */
export function jobNamespace(mapping: NamespaceMapping, namespace: string): string {
  if (mapping.mode === 'kind') return namespace;
  const name = `${mapping.prefix ?? 'lg'}-${mapping.job}-${namespace}`.slice(0, 63).replace(/-+$/, '');
  return name;
}

export function selectorArgument(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions) {
    if (e.operator === 'In') parts.push(`${e.key} in (${e.values.join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${e.values.join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function subjectOf(object: KubeObject): string {
  return object.ref;
}

/** Rewrites a lab namespace to the job's, in the places objects name namespaces. */
function rewriteNamespaceReferences(manifest: Json, kind: string, rename: (ns: string) => string | undefined): void {
  const spec = asRecord(manifest.spec);
  if (kind === 'NetworkPolicy') {
    for (const direction of ['ingress', 'egress'] as const) {
      const rules = Array.isArray(spec[direction]) ? (spec[direction] as unknown[]) : [];
      for (const rule of rules) {
        const peers = asRecord(rule)[direction === 'ingress' ? 'from' : 'to'];
        for (const peer of Array.isArray(peers) ? peers : []) {
          const labels = asRecord(asRecord(asRecord(peer).namespaceSelector).matchLabels);
          const name = labels['kubernetes.io/metadata.name'];
          if (typeof name === 'string' && rename(name)) labels['kubernetes.io/metadata.name'] = rename(name);
        }
      }
    }
  }
  if (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') {
    // ServiceAccount subjects of the lab's namespaces follow them into the job's.
    const subjects = Array.isArray(manifest.subjects) ? (manifest.subjects as unknown[]) : [];
    for (const subject of subjects) {
      const s = asRecord(subject);
      if (typeof s.namespace === 'string' && rename(s.namespace)) s.namespace = rename(s.namespace);
    }
  }
}

export interface PlanOptions {
  mapping: NamespaceMapping;
  /** The workload the drills break, as configured (`Deployment lab85/web`, `lab85/web`, `web`). */
  workload?: string;
  service?: string;
  secrets: { synthesize: boolean; exclude: readonly string[] };
  /** Default: baseline. */
  podSecurity?: PodSecurityLevel;
  /** Which kinds are namespaced: the target's API discovery; default: the bundled schema. */
  scopes?: ApiScopes;
  /** Default: the rubric defaults. */
  isolation?: IsolationSettings;
  /**
   * Where the Service prober's requests come from (the nodes): the lab's
   * ingress policies also admit them, so a lab that restricts its ingress is
   * still probed (NetworkPolicies are enforced by the offline kind CNI).
   */
  probeSources?: readonly string[];
}

export function buildPlan(objects: readonly KubeObject[], options: PlanOptions): DeployPlan {
  const { mapping } = options;
  const scopes = options.scopes ?? bundledScopes();
  const isolation = options.isolation ?? isolationSettingsSchema.parse({});
  const scopeOf = (o: KubeObject) => scopes.scopeOf(o.apiVersion, o.kind);
  const podSecurity = options.podSecurity ?? 'baseline';
  const plan: DeployPlan = {
    mapping,
    podSecurity,
    namespaceObjects: [],
    extraNamespaces: [],
    namespaces: [],
    objects: [],
    workloads: [],
    services: [],
    images: [],
    secrets: [],
    refused: [],
    changes: [],
    scopesSource: scopes.source,
    originalNamespace: new Map(),
  };

  // The lab's namespaces, in order of appearance; beyond the rubric's maximum, objects are refused.
  const labNamespaces: string[] = [];
  for (const o of objects) {
    const ns = o.kind === 'Namespace' ? o.name : scopeOf(o) === 'namespaced' ? (o.namespace ?? 'default') : undefined;
    if (ns !== undefined && !SYSTEM.has(ns) && !labNamespaces.includes(ns)) labNamespaces.push(ns);
  }
  const allowedNamespaces = new Set(labNamespaces.slice(0, isolation.maxNamespaces));
  const renameNs = (ns: string): string | undefined =>
    mapping.mode === 'existing' && allowedNamespaces.has(ns) ? jobNamespace(mapping, ns) : undefined;
  const effective = (ns: string | undefined) => {
    const name = ns ?? 'default';
    return mapping.mode === 'existing' ? jobNamespace(mapping, name) : name;
  };
  const convertedClusterRoles = new Set(
    objects
      .filter((o) => o.kind === 'ClusterRole' && scopeOf(o) === 'cluster' && clusterRoleAsRole(o, scopes).ok)
      .map((o) => o.name),
  );
  const admission: AdmissionContext & { job: string } = {
    scopes,
    isolation,
    job: mapping.job,
    effectiveNamespace: effective,
    labNamespaces: allowedNamespaces,
    labRoles: new Set(objects.filter((o) => o.kind === 'Role').map((o) => `${o.namespace ?? 'default'}/${o.name}`)),
    convertedClusterRoles,
    probeSources: options.probeSources ?? [],
  };
  const originals = new Map<string, string>();
  const clusterScoped: { object: KubeObject; manifest: Json }[] = [];

  for (const object of objects) {
    const subject = subjectOf(object);
    const manifest = clone(object.value);
    delete manifest.status;
    const metadata = asRecord(manifest.metadata);
    manifest.metadata = metadata;
    if (object.kind === 'Namespace') {
      if (!allowedNamespaces.has(object.name) && !(mapping.mode === 'kind' && object.name === 'default')) {
        plan.refused.push(namespaceRefusal(object, isolation.maxNamespaces));
        continue;
      }
      const name = effective(object.name);
      originals.set(name, object.name);
      metadata.name = name;
      metadata.labels = withPodSecurity(jobNamespaceLabels(asRecord(metadata.labels), mapping.job), podSecurity);
      plan.namespaceObjects.push({ source: object, manifest, subject });
      continue;
    }
    const scope = scopeOf(object);
    if (scope === undefined) {
      plan.refused.push(unknownKindRefusal(object, scopes));
      continue;
    }
    if (scope === 'cluster') {
      rewriteNamespaceReferences(manifest, object.kind, renameNs);
      clusterScoped.push({ object, manifest });
      continue;
    }
    const ns = object.namespace ?? 'default';
    if (!SYSTEM.has(ns) && !allowedNamespaces.has(ns)) {
      plan.refused.push(namespaceRefusal(object, isolation.maxNamespaces));
      continue;
    }
    rewriteNamespaceReferences(manifest, object.kind, renameNs);
    const verdict = admitNamespaced(object, manifest, admission);
    plan.changes.push(...verdict.changes);
    if (verdict.refusal) {
      plan.refused.push(verdict.refusal);
      continue;
    }
    const namespace = effective(object.namespace);
    originals.set(namespace, ns);
    metadata.namespace = namespace;
    plan.objects.push({ source: object, manifest, namespace, subject });

    const workload = toWorkload(object);
    if (workload) {
      for (const container of [...workload.initContainers, ...workload.containers]) {
        const image = container.value.image;
        if (typeof image === 'string' && image && !plan.images.includes(image)) plan.images.push(image);
      }
    }
    if (workload && SERVING.has(object.kind)) {
      const selector = toLabelSelector(object.get(['spec', 'selector'])) ?? mapSelector(workload.labels);
      plan.workloads.push({
        source: object,
        workload,
        kind: object.kind as PlannedWorkload['kind'],
        name: object.name,
        namespace,
        selector,
        selectorArg: selectorArgument(selector),
        subject,
      });
    }
    if (object.kind === 'Service') {
      const spec = asRecord(manifest.spec);
      const ports = (Array.isArray(spec.ports) ? spec.ports : []).map(asRecord);
      const tcp = ports.filter((p) => typeof p.port === 'number' && (p.protocol ?? 'TCP') === 'TCP');
      const chosen = tcp.find((p) => p.name === 'http' || p.appProtocol === 'http') ?? tcp[0];
      const selector: Record<string, string> = {};
      for (const [k, v] of Object.entries(asRecord(spec.selector))) selector[k] = String(v);
      plan.services.push({
        source: object,
        name: object.name,
        namespace,
        subject,
        selector,
        ...(chosen
          ? { port: { port: chosen.port as number, ...(typeof chosen.name === 'string' ? { name: chosen.name } : {}) } }
          : {}),
        headless: spec.clusterIP === 'None' || spec.type === 'ExternalName',
      });
    }
  }

  const defined = new Set(plan.namespaceObjects.map((o) => String(asRecord(o.manifest.metadata).name)));
  const used = new Set(plan.objects.map((o) => o.namespace).filter((ns): ns is string => ns !== undefined));
  // Cluster-scoped objects that become namespaced ones (ClusterRole → Role…) go to every namespace of the job.
  const jobNamespaces = [...new Set([...defined, ...used])].sort();
  for (const { object, manifest } of clusterScoped) {
    const outcome = admitClusterScoped(
      object,
      manifest,
      admission,
      jobNamespaces.length ? jobNamespaces : [effective(undefined)],
    );
    plan.changes.push(...outcome.changes);
    if (outcome.refusal) {
      plan.refused.push(outcome.refusal);
      continue;
    }
    for (const replacement of outcome.replacements) {
      used.add(replacement.namespace);
      plan.objects.push({
        source: object,
        manifest: replacement.manifest,
        namespace: replacement.namespace,
        subject: object.ref,
      });
    }
  }
  for (const ns of [...used].sort()) {
    if (defined.has(ns)) continue;
    if (mapping.mode === 'kind' && BUILTIN_NAMESPACES.has(ns)) continue;
    plan.extraNamespaces.push(ns);
  }
  plan.namespaces = [...new Set([...defined, ...used])].sort();
  for (const ns of plan.namespaces) if (!originals.has(ns)) originals.set(ns, ns);
  plan.originalNamespace = originals;

  if (options.secrets.synthesize) plan.secrets = secretsToSynthesize(objects, options, effective);
  return plan;
}

const SYSTEM = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

function namespaceRefusal(object: KubeObject, max: number): Refusal {
  const ns = object.kind === 'Namespace' ? object.name : (object.namespace ?? 'default');
  const where =
    object.kind === 'Namespace'
      ? object.locate(['metadata', 'name'], 'key')
      : object.locate(['metadata', 'namespace'], 'key');
  if (SYSTEM.has(ns)) {
    return {
      source: object,
      subject: object.ref,
      rule: 'system-namespace',
      reason: `${ns} is the cluster’s own namespace, where its components run; put the lab’s objects in the lab’s namespaces`,
      location: where,
    };
  }
  return {
    source: object,
    subject: object.ref,
    rule: 'too-many-namespaces',
    reason: `the lab uses more than ${max} namespaces; labgrader grades at most ${max}, so the namespace ${ns} was not created`,
    location: where,
  };
}

/**
 * The Secrets that workloads need to start (non-optional `secretKeyRef`,
 * `envFrom.secretRef`, secret volumes) and that the repository does not
 * define. Image pull secrets are left alone: a missing one does not stop a pod.
 */
function secretsToSynthesize(
  objects: readonly KubeObject[],
  options: PlanOptions,
  effective: (ns: string | undefined) => string,
): PlannedSecret[] {
  const references: readonly KubeReference[] = inventoryOf([...objects]).references ?? [];
  // Where image pull secrets are named: references found there are not synthesized.
  const pullSecretAt = new Set<string>();
  const at = (l: SourceLocation) => `${l.file}:${l.line}:${l.column}`;
  for (const object of objects) {
    const workload = toWorkload(object);
    const pullSecrets = workload?.podSpec.imagePullSecrets;
    (Array.isArray(pullSecrets) ? pullSecrets : []).forEach((_s, i) =>
      pullSecretAt.add(at(object.locate([...workload!.podSpecPath, 'imagePullSecrets', i, 'name']))),
    );
  }
  // Keys that secret volumes project (`items: [{ key }]`): the references do not name them.
  const volumeKeys = new Map<string, string[]>();
  for (const object of objects) {
    const volumes = toWorkload(object)?.podSpec.volumes;
    for (const v of Array.isArray(volumes) ? volumes : []) {
      const secret = asRecord(asRecord(v).secret);
      if (typeof secret.secretName !== 'string' || !Array.isArray(secret.items)) continue;
      const id = `${effective(object.namespace)}/${secret.secretName}`;
      for (const item of secret.items) {
        const key = asRecord(item).key;
        if (typeof key === 'string') volumeKeys.set(id, [...(volumeKeys.get(id) ?? []), key]);
      }
    }
  }
  const byKey = new Map<string, PlannedSecret>();
  for (const ref of references) {
    if (ref.kind !== 'Secret' || ref.defined || ref.optional) continue;
    if (options.secrets.exclude.includes(ref.name) || pullSecretAt.has(at(ref.location))) continue;
    const namespace = effective(ref.namespace);
    const key = `${namespace}/${ref.name}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        name: ref.name,
        namespace,
        keys: [],
        references: [],
        subject: `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`,
      };
      byKey.set(key, entry);
    }
    for (const k of [...(ref.key ? [ref.key] : []), ...(volumeKeys.get(key) ?? [])]) {
      if (!entry.keys.includes(k)) entry.keys.push(k);
    }
    entry.references.push(ref.location);
  }
  return [...byKey.values()];
}

/** Parses `Deployment lab85/web`, `lab85/web` or `web`. */
export function parseObjectName(text: string): { kind?: string; namespace?: string; name: string } {
  const [first, second] = text.trim().split(/\s+/);
  const ref = second ?? first ?? '';
  const kind = second ? first : undefined;
  const slash = ref.indexOf('/');
  return {
    ...(kind ? { kind } : {}),
    ...(slash >= 0 ? { namespace: ref.slice(0, slash) } : {}),
    name: slash >= 0 ? ref.slice(slash + 1) : ref,
  };
}

function matchesName(source: KubeObject, wanted: ReturnType<typeof parseObjectName>): boolean {
  return (
    source.name === wanted.name &&
    (wanted.kind === undefined || source.kind === wanted.kind) &&
    (wanted.namespace === undefined || (source.namespace ?? 'default') === wanted.namespace)
  );
}

function selects(service: PlannedService, workload: PlannedWorkload): boolean {
  return (
    service.namespace === workload.namespace &&
    Object.keys(service.selector).length > 0 &&
    selectorMatches(mapSelector(service.selector), workload.workload.labels)
  );
}

/**
 * The workload the drills break: the configured one, else the serving
 * workload a Service selects (Deployments first, since only they roll back,
 * then the most replicas, then manifest order).
 */
export function mainWorkload(plan: DeployPlan, configured?: string): { workload?: PlannedWorkload; problem?: string } {
  if (configured) {
    const wanted = parseObjectName(configured);
    const found = plan.workloads.find((w) => matchesName(w.source, wanted));
    return found
      ? { workload: found }
      : { problem: `the rubric names the workload '${configured}', which the manifests do not define` };
  }
  if (plan.workloads.length === 0) return { problem: 'the manifests define no Deployment, StatefulSet or DaemonSet' };
  const rank = (w: PlannedWorkload) => [
    plan.services.some((s) => selects(s, w)) ? 0 : 1,
    w.kind === 'Deployment' ? 0 : w.kind === 'StatefulSet' ? 1 : 2,
    -(w.workload.replicas ?? 1),
  ];
  const ordered = plan.workloads
    .map((w, i) => ({ w, key: [...rank(w), i] }))
    .sort((a, b) => {
      for (let k = 0; k < a.key.length; k++) if (a.key[k] !== b.key[k]) return a.key[k]! - b.key[k]!;
      return 0;
    });
  return { workload: ordered[0]!.w };
}

/** The Service probed during the drills: the configured one, else the first that selects the workload. */
export function mainService(
  plan: DeployPlan,
  workload: PlannedWorkload | undefined,
  configured?: string,
): { service?: PlannedService; problem?: string } {
  if (configured) {
    const wanted = parseObjectName(configured);
    const found = plan.services.find((s) => matchesName(s.source, { ...wanted, kind: 'Service' }));
    return found
      ? { service: found }
      : { problem: `the rubric names the Service '${configured}', which the manifests do not define` };
  }
  if (!workload) return { problem: 'there is no workload to reach' };
  const service = plan.services.find((s) => selects(s, workload) && !s.headless && s.port);
  return service
    ? { service }
    : { problem: `no Service with a TCP port and a cluster IP selects the pods of ${workload.subject}` };
}
