/**
 * Workloads and their pod templates: where the pod spec lives for each kind,
 * the containers (init containers and sidecars included), labels and the
 * effective replica count. Rules work on this view instead of re-deriving it.
 */
import type { Path } from '../yaml/parse.js';
import { asArray, asRecord, asString, isRecord, type Json, type KubeObject } from './object.js';

export const WORKLOAD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
  'Pod',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Kinds that run continuously (probes, PDBs and Services make sense for them). */
export const SERVING_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Pod',
]);
/** Kinds with a `replicas` field. */
export const REPLICATED_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
]);

export interface Container {
  workload: Workload;
  name: string;
  /** Path of the container mapping in its object. */
  path: Path;
  value: Json;
  /** An init container (including sidecars). */
  init: boolean;
  /** An init container with `restartPolicy: Always`: runs alongside the app containers. */
  sidecar: boolean;
  /** `Deployment lab85/web container web`. */
  subject: string;
}

export interface Workload {
  object: KubeObject;
  kind: WorkloadKind;
  /** Path of the pod spec in the object. */
  podSpecPath: Path;
  podSpec: Json;
  /** Path of the pod template's labels. */
  labelsPath: Path;
  labels: Record<string, string>;
  /** Effective replicas for replicated kinds (unset means 1); undefined for others. */
  replicas: number | undefined;
  containers: Container[];
  initContainers: Container[];
  subject: string;
}

function templatePaths(kind: WorkloadKind): { spec: Path; labels: Path } {
  switch (kind) {
    case 'Pod':
      return { spec: ['spec'], labels: ['metadata', 'labels'] };
    case 'CronJob':
      return {
        spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
        labels: ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'],
      };
    default:
      return { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] };
  }
}

export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value))) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

export function toWorkload(object: KubeObject): Workload | undefined {
  if (!(WORKLOAD_KINDS as readonly string[]).includes(object.kind)) return undefined;
  const kind = object.kind as WorkloadKind;
  const paths = templatePaths(kind);
  const podSpec = object.get(paths.spec);
  if (!isRecord(podSpec)) return undefined;
  let replicas: number | undefined;
  if (REPLICATED_KINDS.has(kind)) {
    const raw = object.get(['spec', 'replicas']);
    replicas = typeof raw === 'number' ? raw : raw === undefined || raw === null ? 1 : Number(raw);
    if (!Number.isFinite(replicas)) replicas = 1;
  }
  const workload: Workload = {
    object,
    kind,
    podSpecPath: paths.spec,
    podSpec,
    labelsPath: paths.labels,
    labels: stringMap(object.get(paths.labels)),
    replicas,
    containers: [],
    initContainers: [],
    subject: object.ref,
  };
  for (const field of ['containers', 'initContainers'] as const) {
    asArray(podSpec[field]).forEach((value, index) => {
      if (!isRecord(value)) return;
      const name = asString(value.name) ?? `#${index + 1}`;
      const init = field === 'initContainers';
      const container: Container = {
        workload,
        name,
        path: [...paths.spec, field, index],
        value,
        init,
        sidecar: init && value.restartPolicy === 'Always',
        subject: `${object.ref} ${init ? 'initContainer' : 'container'} ${name}`,
      };
      (init ? workload.initContainers : workload.containers).push(container);
    });
  }
  return workload;
}

/**
 * Helm hooks (`helm.sh/hook`: `helm test` pods, pre-install migration jobs)
 * are created around an install, upgrade or test and are not part of the
 * release (Helm does not even track them): not the application that runs.
 */
export function isHelmHook(object: KubeObject): boolean {
  const hook = object.annotations['helm.sh/hook'];
  return typeof hook === 'string' && hook.trim() !== '';
}

export function allContainers(workload: Workload): Container[] {
  return [...workload.initContainers, ...workload.containers];
}

/** Ports a container declares: by number and by name. */
export function containerPorts(
  container: Container,
): Array<{ number: number; name?: string; protocol: string; index: number }> {
  const out: Array<{ number: number; name?: string; protocol: string; index: number }> = [];
  asArray(container.value.ports).forEach((port, index) => {
    if (!isRecord(port) || typeof port.containerPort !== 'number') return;
    const entry: { number: number; name?: string; protocol: string; index: number } = {
      number: port.containerPort,
      protocol: asString(port.protocol) ?? 'TCP',
      index,
    };
    const name = asString(port.name);
    if (name !== undefined) entry.name = name;
    out.push(entry);
  });
  return out;
}
