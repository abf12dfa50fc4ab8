/**
 * Why a workload did not become Ready, from its pods' status and the
 * namespace's events, as problems placed on the manifest field to fix:
 * an image that cannot be pulled → `image:`, a crash loop → the container,
 * a failing readiness probe → `readinessProbe:`, a missing Secret key → the
 * `secretKeyRef`, Pending for lack of CPU → `resources.requests`…
 */
import type { SourceLocation } from '@labgrader/core';
import { selectorMatches, type Container } from '@labgrader/manifest-lint';
import { containerTrouble, describeEvent, eventTime, isTerminating, type KubeEvent, type Pod } from './kube.js';
import type { PlannedWorkload } from './plan.js';

type PathSegment = string | number;
type Path = readonly PathSegment[];

export interface Diagnosis {
  /** Short machine-readable reason (`ImagePullBackOff`, `ReadinessProbeFailed`, `FailedScheduling`…). */
  reason: string;
  /** One sentence for the student. */
  message: string;
  location: SourceLocation;
  container?: string;
}

const PULL = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
]);
const CRASH = new Set(['CrashLoopBackOff', 'RunContainerError', 'CreateContainerError', 'StartError', 'Error']);

function oneLine(text: string, max = 240): string {
  const clean = text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Pods of the workload (by its selector), newest first. */
export function podsOf(workload: PlannedWorkload, pods: readonly Pod[]): Pod[] {
  return pods
    .filter(
      (p) =>
        (p.metadata.namespace ?? workload.namespace) === workload.namespace &&
        selectorMatches(workload.selector, p.metadata.labels ?? {}),
    )
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
}

/** Events about the workload, its ReplicaSets and its pods, oldest first. */
export function eventsOf(workload: PlannedWorkload, pods: readonly Pod[], events: readonly KubeEvent[]): KubeEvent[] {
  const podNames = new Set(pods.map((p) => p.metadata.name));
  return events
    .filter((e) => {
      const { kind, name } = e.involvedObject;
      if (!name) return false;
      if (kind === 'Pod') return podNames.has(name);
      if (kind === workload.kind) return name === workload.name;
      if (kind === 'ReplicaSet' && workload.kind === 'Deployment') return name.startsWith(`${workload.name}-`);
      return false;
    })
    .sort((a, b) => eventTime(a) - eventTime(b));
}

function containerOf(workload: PlannedWorkload, name: string): Container | undefined {
  return [...workload.workload.containers, ...workload.workload.initContainers].find((c) => c.name === name);
}

/** Where the env/envFrom/volume entry naming `objectName` is, in the container or pod spec. */
function referencePath(
  workload: PlannedWorkload,
  container: Container | undefined,
  objectName: string,
): Path | undefined {
  const containers = container ? [container] : workload.workload.containers;
  for (const c of containers) {
    const env = Array.isArray(c.value.env) ? (c.value.env as Record<string, unknown>[]) : [];
    for (let i = 0; i < env.length; i++) {
      const from = (env[i]?.valueFrom ?? {}) as Record<string, { name?: string }>;
      for (const field of ['secretKeyRef', 'configMapKeyRef']) {
        if (from[field]?.name === objectName) return [...c.path, 'env', i, 'valueFrom', field, 'name'];
      }
    }
    const envFrom = Array.isArray(c.value.envFrom) ? (c.value.envFrom as Record<string, { name?: string }>[]) : [];
    for (let i = 0; i < envFrom.length; i++) {
      for (const field of ['secretRef', 'configMapRef']) {
        if (envFrom[i]?.[field]?.name === objectName) return [...c.path, 'envFrom', i, field, 'name'];
      }
    }
  }
  const volumes = workload.workload.podSpec.volumes;
  if (Array.isArray(volumes)) {
    for (let i = 0; i < volumes.length; i++) {
      const v = volumes[i] as Record<string, Record<string, unknown>>;
      if (v.secret?.secretName === objectName)
        return [...workload.workload.podSpecPath, 'volumes', i, 'secret', 'secretName'];
      if (v.configMap?.name === objectName)
        return [...workload.workload.podSpecPath, 'volumes', i, 'configMap', 'name'];
    }
  }
  return undefined;
}

function hasField(container: Container | undefined, field: string): boolean {
  return container !== undefined && container.value[field] !== undefined;
}

/**
 * Diagnoses a workload that is not Ready. `logs` holds the last lines a
 * crashing container printed, when they were fetched (already redacted).
 */
export function diagnoseWorkload(
  workload: PlannedWorkload,
  allPods: readonly Pod[],
  allEvents: readonly KubeEvent[],
  logs: ReadonlyMap<string, string> = new Map(),
): Diagnosis[] {
  const source = workload.source;
  const pods = podsOf(workload, allPods).filter((p) => !isTerminating(p));
  const events = eventsOf(workload, pods, allEvents);
  const out: Diagnosis[] = [];
  const seen = new Set<string>();
  const add = (d: Diagnosis) => {
    const key = `${d.reason}|${d.container ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  const at = (path: Path, mode: 'key' | 'value' = 'key') => source.locate(path, mode);

  for (const pod of pods) {
    const statuses = [
      ...(pod.status.initContainerStatuses ?? []).map((s) => ({ s, init: true })),
      ...(pod.status.containerStatuses ?? []).map((s) => ({ s, init: false })),
    ];
    for (const { s } of statuses) {
      const trouble = containerTrouble(s);
      const container = containerOf(workload, s.name);
      const base = container?.path ?? workload.workload.podSpecPath;
      const what = `container "${s.name}" of ${workload.subject}`;
      if (!trouble) continue;
      if (PULL.has(trouble.reason)) {
        add({
          reason: trouble.reason,
          container: s.name,
          message: `The image of ${what} cannot be pulled (${trouble.reason}${trouble.message ? `: ${oneLine(trouble.message, 200)}` : ''}).`,
          location: at([...base, 'image'], 'value'),
        });
      } else if (trouble.reason === 'CreateContainerConfigError') {
        const missing = /(?:secret|configmap)s? "([^"]+)"|in (?:Secret|ConfigMap) [^/\s]+\/(\S+)/i.exec(
          trouble.message,
        );
        const path = missing ? referencePath(workload, container, missing[1] ?? missing[2] ?? '') : undefined;
        add({
          reason: trouble.reason,
          container: s.name,
          message: `${what} cannot start: ${oneLine(trouble.message)}.`,
          location: at(path ?? base),
        });
      } else if (trouble.reason === 'OOMKilled') {
        add({
          reason: 'OOMKilled',
          container: s.name,
          message: `${what} was killed for using more memory than its limit (OOMKilled).`,
          location: at(hasField(container, 'resources') ? [...base, 'resources', 'limits', 'memory'] : base, 'value'),
        });
      } else if (CRASH.has(trouble.reason)) {
        const lastLog = logs.get(`${pod.metadata.name}/${s.name}`);
        add({
          reason: trouble.reason,
          container: s.name,
          message: `${what} keeps crashing (${trouble.reason}${trouble.message ? `, ${oneLine(trouble.message, 160)}` : ''}; ${s.restartCount} restart${s.restartCount === 1 ? '' : 's'})${lastLog ? `; its last output: ${oneLine(lastLog, 240)}` : ''}.`,
          location: at(base),
        });
      } else {
        add({
          reason: trouble.reason,
          container: s.name,
          message: `${what} is waiting: ${trouble.reason}${trouble.message ? ` (${oneLine(trouble.message)})` : ''}.`,
          location: at(base),
        });
      }
    }
  }

  // Probe failures, from the kubelet's events: the latest says what is wrong now (the first one is
  // often a probe that ran before the process listened).
  const newestFirst = [...events].reverse();
  for (const event of newestFirst) {
    if (event.reason !== 'Unhealthy' || !event.message) continue;
    const kind = /^(Readiness|Liveness|Startup) probe/i.exec(event.message)?.[1]?.toLowerCase();
    if (!kind) continue;
    const pod = pods.find((p) => p.metadata.name === event.involvedObject.name);
    // Which container: the kubelet names it in the event's fieldPath, which we do not read; use the first with that probe.
    const container =
      workload.workload.containers.find((c) => c.value[`${kind}Probe`] !== undefined) ??
      workload.workload.containers[0];
    const field = `${kind}Probe`;
    if (
      kind === 'readiness' &&
      pod &&
      (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    )
      continue;
    add({
      reason: `${kind[0]!.toUpperCase()}${kind.slice(1)}ProbeFailed`,
      ...(container ? { container: container.name } : {}),
      message: `The ${kind} probe of ${container ? `container "${container.name}" of ` : ''}${workload.subject} fails: ${oneLine(event.message.replace(/^\w+ probe failed:\s*/i, ''), 200)}${event.count && event.count > 1 ? ` (${event.count} times)` : ''}.`,
      location: at(
        container && hasField(container, field)
          ? [...container.path, field]
          : (container?.path ?? workload.workload.podSpecPath),
      ),
    });
  }

  // Pods that were never created or never scheduled. A FailedCreate counts only while it is the
  // controller's last word: one followed by SuccessfulCreate was a race that resolved itself.
  const lastCreate = [...events].reverse().find((e) => e.reason === 'FailedCreate' || e.reason === 'SuccessfulCreate');
  for (const event of newestFirst) {
    if (event.reason === 'FailedCreate' && event !== lastCreate) continue;
    const message = event.message ?? '';
    if (event.reason === 'FailedScheduling') {
      const first = workload.workload.containers[0];
      const path: Path = /Insufficient (cpu|memory)/i.test(message)
        ? first && hasField(first, 'resources')
          ? [...first.path, 'resources', 'requests']
          : (first?.path ?? workload.workload.podSpecPath)
        : /node selector|affinity/i.test(message)
          ? [
              ...workload.workload.podSpecPath,
              workload.workload.podSpec.nodeSelector !== undefined ? 'nodeSelector' : 'affinity',
            ]
          : /taint/i.test(message)
            ? [...workload.workload.podSpecPath, 'tolerations']
            : workload.workload.podSpecPath;
      add({
        reason: 'FailedScheduling',
        message: `The pods of ${workload.subject} cannot be scheduled: ${oneLine(message)}.`,
        location: at(path),
      });
    } else if (event.reason === 'FailedCreate') {
      const path: Path = /PodSecurity|securityContext|privileged|runAsNonRoot|capabilities|seccomp/i.test(message)
        ? [
            ...workload.workload.podSpecPath,
            workload.workload.podSpec.securityContext !== undefined ? 'securityContext' : 'containers',
          ]
        : /serviceaccount/i.test(message)
          ? [...workload.workload.podSpecPath, 'serviceAccountName']
          : workload.workload.podSpecPath;
      add({
        reason: 'FailedCreate',
        message: `The pods of ${workload.subject} cannot be created: ${oneLine(message)}.`,
        location: at(path),
      });
    }
  }
  return out;
}

/** The last events about the workload, for evidence (already one line each). */
export function eventLines(
  workload: PlannedWorkload,
  pods: readonly Pod[],
  events: readonly KubeEvent[],
  max = 8,
): string[] {
  return eventsOf(workload, podsOf(workload, pods), events).slice(-max).map(describeEvent);
}
