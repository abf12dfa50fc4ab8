/**
 * Why a workload did not become Ready, from its pods' status and the
 * namespace's events, as problems placed on the manifest field to fix:
 * an image that cannot be pulled → `image:`, a crash loop → the container,
 * a failing readiness probe → `readinessProbe:`, a missing Secret key → the
 * `secretKeyRef`, Pending for lack of CPU → `resources.requests`, a pod
 * sandbox the runtime cannot start in its memory limit →
 * `resources.limits.memory`…
 *
 * One cause, one diagnosis: the pods of a workload share their causes (one
 * per container and kind of trouble, with the full reason), and what a
 * cause brings along (the failing probes of a container that crashes or
 * cannot be pulled, the crash loop of a container its liveness probe kills)
 * is not another diagnosis.
 *
 * Also here: when waiting for Ready is pointless (`terminalReason`: the
 * image pull refused and backing off, the same crash again and again,
 * unschedulable, no sandbox), and why a Service whose pods are Ready does
 * not answer (`diagnoseService`).
 */
import type { SourceLocation } from '@labgrader/core';
import { selectorMatches, type Container } from '@labgrader/manifest-lint';
import {
  containerTrouble,
  describeEvent,
  eventContainer,
  eventTime,
  isTerminating,
  memoryBytes,
  podCondition,
  type ContainerStatus,
  type EndpointSlice,
  type KubeEvent,
  type Pod,
} from './kube.js';
import type { PlannedService, PlannedWorkload } from './plan.js';

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

/** How long a reason may be (the full reason, bounded): a registry's error chain is long and its end is the cause. */
const FULL = 1200;

function oneLine(text: string, max = 240): string {
  const clean = text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * Why an image cannot be pulled, in full, without the kubelet's wrappers:
 * `Back-off pulling image "x": ErrImagePull: failed to pull … i/o timeout`
 * → `failed to pull … i/o timeout`. The back-off message of older kubelets
 * names no cause: then the newest `Failed to pull image` event's is used.
 */
export function pullReason(message: string, podEvents: readonly KubeEvent[] = []): string {
  const strip = (m: string) =>
    m
      .replace(/^Back-off pulling image "[^"]*":?\s*/i, '')
      .replace(/^(ErrImagePull|ImagePullBackOff|ErrImageNeverPull):\s*/i, '')
      .replace(/^Failed to pull image "[^"]*":\s*/i, '')
      .trim();
  const own = strip(message);
  if (own) return oneLine(own, FULL);
  const failed = [...podEvents]
    .reverse()
    .find((e) => e.reason === 'Failed' && /^Failed to pull image/i.test(e.message ?? ''));
  return failed ? oneLine(strip(failed.message ?? ''), FULL) : '';
}

/** The kubelet killed the container because a probe failed (`Container web failed liveness probe, will be restarted`). */
const PROBE_KILL = /^Container (\S+) failed (liveness|startup) probe/i;

/** Sandbox failures that mean the memory limit is too small for the runtime to start the pod at all. */
const SANDBOX_OOM = /OOM-killed|OOMKilled|out of memory|memory limit too low/i;
/** How runc fails when the pod's cgroup is too small, without saying so (seen with limits of 2–3 Mi). */
const SANDBOX_STARVED =
  /cannot start a stopped process|container process is already dead|can't get final child's PID|init-p: connection reset|cannot start a container that has stopped/i;
/** A memory limit this small explains a sandbox that dies as it starts. */
const TINY_MEMORY = 16 * 2 ** 20;

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

/** The container with the smallest memory limit (the sandbox's budget is the pod's), if any sets one. */
function smallestMemoryLimit(
  workload: PlannedWorkload,
): { container: Container; bytes: number; text: string } | undefined {
  let best: { container: Container; bytes: number; text: string } | undefined;
  for (const c of workload.workload.containers) {
    const text = (c.value.resources as { limits?: { memory?: unknown } } | undefined)?.limits?.memory;
    const bytes = memoryBytes(text);
    if (bytes !== undefined && (!best || bytes < best.bytes)) best = { container: c, bytes, text: String(text) };
  }
  return best;
}

/** A pod whose sandbox does not exist yet: no container has started. */
function withoutSandbox(pod: Pod): boolean {
  const statuses = pod.status.containerStatuses ?? [];
  return (
    podCondition(pod, 'PodReadyToStartContainers')?.status === 'False' ||
    statuses.length === 0 ||
    statuses.every((s) => s.state?.waiting?.reason === 'ContainerCreating')
  );
}

/**
 * Why the runtime cannot create the pods' sandbox, from their
 * FailedCreatePodSandBox events, when that is what keeps them from starting:
 * the memory limit (said so, or a limit of a few Mi and runc dying as it
 * starts) or, otherwise, the runtime's own words.
 */
export function sandboxTrouble(
  workload: PlannedWorkload,
  pods: readonly Pod[],
  events: readonly KubeEvent[],
): { memory: boolean; message: string; count: number } | undefined {
  const stuck = new Set(pods.filter(withoutSandbox).map((p) => p.metadata.name));
  const failures = events.filter(
    (e) => e.reason === 'FailedCreatePodSandBox' && stuck.has(e.involvedObject.name ?? ''),
  );
  if (failures.length === 0) return undefined;
  const count = failures.reduce((n, e) => n + (e.count ?? 1), 0);
  const oom = [...failures].reverse().find((e) => SANDBOX_OOM.test(e.message ?? ''));
  const limit = smallestMemoryLimit(workload);
  const starved =
    limit !== undefined && limit.bytes <= TINY_MEMORY && failures.some((e) => SANDBOX_STARVED.test(e.message ?? ''));
  const newest = failures[failures.length - 1]!;
  const message = (oom ?? newest).message ?? '';
  return { memory: oom !== undefined || starved, message, count };
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
  /** Containers whose own trouble explains them: their probe failures are a consequence, not a cause. */
  const explained = new Set<string>();
  // One cause per container and kind of trouble, whichever pod shows it (ErrImagePull and ImagePullBackOff are one).
  const add = (d: Diagnosis, kind = d.reason) => {
    const key = `${kind}|${d.container ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  const at = (path: Path, mode: 'key' | 'value' = 'key') => source.locate(path, mode);
  // Containers the kubelet kills for failing a probe: the probe is the cause of their restarts.
  const probeKilled = new Map<string, string>();
  for (const e of events) {
    const m = e.reason === 'Killing' ? PROBE_KILL.exec(e.message ?? '') : null;
    if (m) probeKilled.set(m[1]!, m[2]!.toLowerCase());
  }
  const memoryLimit = (container: Container | undefined, base: Path): Path =>
    container &&
    (container.value.resources as { limits?: { memory?: unknown } } | undefined)?.limits?.memory !== undefined
      ? [...base, 'resources', 'limits', 'memory']
      : hasField(container, 'resources')
        ? [...base, 'resources']
        : base;

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
        explained.add(s.name);
        const image = pod.spec.containers.find((c) => c.name === s.name)?.image;
        const podEvents = events.filter((e) => e.involvedObject.name === pod.metadata.name);
        const why = pullReason(trouble.message, podEvents);
        add(
          {
            reason: trouble.reason,
            container: s.name,
            message: `The image ${image ? `"${image}" ` : ''}of ${what} cannot be pulled (${trouble.reason}${why ? `: ${why}` : ''}).`,
            location: at([...base, 'image'], 'value'),
          },
          'pull',
        );
      } else if (trouble.reason === 'CreateContainerConfigError') {
        explained.add(s.name);
        const missing = /(?:secret|configmap)s? "([^"]+)"|in (?:Secret|ConfigMap) [^/\s]+\/(\S+)/i.exec(
          trouble.message,
        );
        const path = missing ? referencePath(workload, container, missing[1] ?? missing[2] ?? '') : undefined;
        add({
          reason: trouble.reason,
          container: s.name,
          message: `${what} cannot start: ${oneLine(trouble.message, FULL)}.`,
          location: at(path ?? base),
        });
      } else if (trouble.reason === 'OOMKilled' || s.lastState?.terminated?.reason === 'OOMKilled') {
        explained.add(s.name);
        add(
          {
            reason: 'OOMKilled',
            container: s.name,
            message: `${what} was killed for using more memory than its limit (OOMKilled${s.restartCount ? `; ${s.restartCount} restart${s.restartCount === 1 ? '' : 's'}` : ''}).`,
            location: at(memoryLimit(container, base), 'value'),
          },
          'oom',
        );
      } else if (CRASH.has(trouble.reason) && probeKilled.has(s.name)) {
        // Restarted by its own liveness (or startup) probe: the probe is the cause, reported below.
        continue;
      } else if (CRASH.has(trouble.reason)) {
        explained.add(s.name);
        const lastLog = logs.get(`${pod.metadata.name}/${s.name}`);
        const last = s.lastState?.terminated;
        const exit = last
          ? `last exit: ${last.reason ?? 'terminated'}${last.exitCode !== undefined ? `, exit code ${last.exitCode}` : ''}`
          : trouble.message
            ? oneLine(trouble.message, 160)
            : '';
        add(
          {
            reason: trouble.reason,
            container: s.name,
            message: `${what} keeps crashing (${trouble.reason}${exit ? `, ${exit}` : ''}; ${s.restartCount} restart${s.restartCount === 1 ? '' : 's'})${lastLog ? `; its last output: ${oneLine(lastLog, 400)}` : ''}.`,
            location: at(base),
          },
          'crash',
        );
      } else {
        add({
          reason: trouble.reason,
          container: s.name,
          message: `${what} is waiting: ${trouble.reason}${trouble.message ? ` (${oneLine(trouble.message, FULL)})` : ''}.`,
          location: at(base),
        });
      }
    }
  }

  // No container started because the runtime cannot create the pods' sandbox (a memory limit of a few Mi…).
  const sandbox = sandboxTrouble(workload, pods, events);
  if (sandbox) {
    const limit = smallestMemoryLimit(workload);
    for (const c of workload.workload.containers) explained.add(c.name);
    if (sandbox.memory) {
      const container = limit?.container ?? workload.workload.containers[0];
      add({
        reason: 'SandboxOOM',
        ...(container ? { container: container.name } : {}),
        message: `The pods of ${workload.subject} cannot start: the container runtime cannot create their sandbox within the memory limit${limit ? ` (limits.memory ${limit.text} of container "${limit.container.name}")` : ''}, which is too low: ${oneLine(sandbox.message, FULL)}${sandbox.count > 1 ? ` (${sandbox.count} times)` : ''}.`,
        location: at(memoryLimit(container, container?.path ?? workload.workload.podSpecPath), 'value'),
      });
    } else {
      add({
        reason: 'FailedCreatePodSandBox',
        message: `The pods of ${workload.subject} cannot start: the container runtime cannot create their sandbox: ${oneLine(sandbox.message, FULL)}${sandbox.count > 1 ? ` (${sandbox.count} times)` : ''}.`,
        location: at(workload.workload.podSpecPath),
      });
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
    const field = `${kind}Probe`;
    const named = eventContainer(event);
    const container =
      (named ? workload.workload.containers.find((c) => c.name === named) : undefined) ??
      workload.workload.containers.find((c) => c.value[field] !== undefined) ??
      workload.workload.containers[0];
    // A container that crashes, cannot be pulled or has no sandbox fails its probes too: that is not another cause.
    if (container && explained.has(container.name)) continue;
    if (
      kind === 'readiness' &&
      pod &&
      (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    )
      continue;
    const kills = kind === 'readiness' ? undefined : restartsBy(pods, container?.name);
    add({
      reason: `${kind[0]!.toUpperCase()}${kind.slice(1)}ProbeFailed`,
      ...(container ? { container: container.name } : {}),
      message: `The ${kind} probe of ${container ? `container "${container.name}" of ` : ''}${workload.subject} fails: ${oneLine(event.message.replace(/^\w+ probe failed:\s*/i, ''), 400)}${event.count && event.count > 1 ? ` (${event.count} times)` : ''}${kills && probeKilled.get(container?.name ?? '') === kind ? `; the kubelet restarts the container for it (${kills} restart${kills === 1 ? '' : 's'})` : ''}.`,
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
        message: `The pods of ${workload.subject} cannot be scheduled: ${oneLine(message, FULL)}.`,
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
        message: `The pods of ${workload.subject} cannot be created: ${oneLine(message, FULL)}.`,
        location: at(path),
      });
    }
  }
  return out;
}

/** Restarts of that container over the pods. */
function restartsBy(pods: readonly Pod[], container: string | undefined): number {
  let n = 0;
  for (const p of pods) for (const s of p.status.containerStatuses ?? []) if (s.name === container) n += s.restartCount;
  return n;
}

/** What the wait for Ready remembers between polls: each crash seen, to tell a crash that repeats itself. */
export interface WaitMemory {
  /** `pod/container#restartCount` → `reason:exitCode` of that termination. */
  crashes: Map<string, string>;
}

export function newWaitMemory(): WaitMemory {
  return { crashes: new Map() };
}

const UNSCHEDULABLE_FOR_GOOD = /Insufficient|node affinity|node selector|didn't match|untolerated taint|had taint/i;

function crashSignature(status: ContainerStatus): string | undefined {
  const t = status.lastState?.terminated;
  return t ? `${t.reason ?? 'terminated'}:${t.exitCode ?? '?'}` : undefined;
}

/**
 * Why this workload will not become Ready however long it is waited for, or
 * undefined while it may still: every pod of it is stuck in a state that
 * does not end by itself in a fresh cluster (nothing will change the
 * manifests, the node or the registry):
 *  - its image pull was refused and the kubelet is backing off (ImagePullBackOff), or the name is invalid;
 *  - its container crashes on every start with the same exit (CrashLoopBackOff, the same reason and exit
 *    code at least twice);
 *  - it cannot be scheduled (requests, node selector, affinity, taints; not a claim still binding);
 *  - the runtime cannot create its sandbox within its memory limit (at least twice).
 * The caller stops waiting only when every workload still waited for is terminal, so a crash that
 * waits for another workload still coming up is waited for.
 */
export function terminalReason(
  workload: PlannedWorkload,
  allPods: readonly Pod[],
  allEvents: readonly KubeEvent[],
  memory: WaitMemory,
): string | undefined {
  const pods = podsOf(workload, allPods).filter((p) => !isTerminating(p));
  if (pods.length === 0) return undefined;
  const events = eventsOf(workload, pods, allEvents);
  // Remember every termination seen, by restart, to tell a crash that repeats itself.
  for (const pod of pods) {
    for (const s of pod.status.containerStatuses ?? []) {
      const signature = crashSignature(s);
      if (signature && s.restartCount > 0)
        memory.crashes.set(`${pod.metadata.name}/${s.name}#${s.restartCount}`, signature);
    }
  }
  const sandbox = sandboxTrouble(workload, pods, events);
  // An image the kubelet failed to pull twice (or more) and is now backing off from: every pod that uses it waits for
  // nothing (the registry, the name and the node do not change during the job).
  const pullFailures = events
    .filter((e) => e.reason === 'Failed' && /^Failed to pull image/i.test(e.message ?? ''))
    .reduce((n, e) => n + (e.count ?? 1), 0);
  const refused = new Set<string>();
  for (const pod of pods) {
    for (const s of pod.status.containerStatuses ?? []) {
      const reason = s.state?.waiting?.reason ?? '';
      const image = pod.spec.containers.find((c) => c.name === s.name)?.image ?? s.image ?? '';
      if (reason === 'InvalidImageName' || reason === 'ErrImageNeverPull') refused.add(image);
      if (reason === 'ImagePullBackOff' && pullFailures >= 2) refused.add(image);
    }
  }
  const why: string[] = [];
  for (const pod of pods) {
    const scheduled = podCondition(pod, 'PodScheduled');
    if (
      scheduled?.status === 'False' &&
      scheduled.reason === 'Unschedulable' &&
      UNSCHEDULABLE_FOR_GOOD.test(scheduled.message ?? '') &&
      !/PersistentVolumeClaim|volume/i.test(scheduled.message ?? '')
    ) {
      why.push(`its pods cannot be scheduled (${oneLine(scheduled.message ?? '', 300)})`);
      continue;
    }
    const statuses = pod.status.containerStatuses ?? [];
    const pulling = statuses.find(
      (s) => !s.state?.running && refused.has(pod.spec.containers.find((c) => c.name === s.name)?.image ?? ''),
    );
    if (pulling) {
      const reason = pulling.state?.waiting?.reason;
      why.push(
        reason === 'InvalidImageName' || reason === 'ErrImageNeverPull'
          ? `the image of container "${pulling.name}" cannot be pulled (${reason})`
          : `the image of container "${pulling.name}" cannot be pulled (${pullFailures} failed pulls) and the kubelet is backing off (ImagePullBackOff)`,
      );
      continue;
    }
    const crash = [...(pod.status.initContainerStatuses ?? []), ...statuses].find(
      (s) => s.state?.waiting?.reason === 'CrashLoopBackOff',
    );
    if (crash) {
      const signature = crashSignature(crash);
      const same = [...memory.crashes.values()].filter((v) => v === signature).length;
      if (signature && same >= 2) {
        const [reason, exit] = signature.split(':');
        why.push(
          `container "${crash.name}" exits the same way on every start (CrashLoopBackOff, ${reason}, exit code ${exit}, ${same} times)`,
        );
        continue;
      }
      return undefined;
    }
    if (sandbox?.memory && sandbox.count >= 2 && withoutSandbox(pod)) {
      why.push(
        `the container runtime cannot create its pods' sandbox within their memory limit (${sandbox.count} attempts)`,
      );
      continue;
    }
    return undefined; // this pod may still start
  }
  const unique = [...new Set(why)];
  return unique.length ? unique.join('; ') : undefined;
}

export interface ServiceDiagnosis {
  /** `NoEndpoints`, `NamedPortNotFound`, `PortNotDeclared`, `NoAnswer`. */
  reason: string;
  /** One sentence for the student: why the Service does not answer, and what to change. */
  message: string;
  location: SourceLocation;
  /** What it says cannot change by waiting longer (the probe may stop early). */
  terminal: boolean;
}

/** The declared ports of the pods' containers: `http 8080, metrics 9090`. */
function declaredPorts(pods: readonly Pod[]): { name?: string; port: number }[] {
  const out = new Map<string, { name?: string; port: number }>();
  for (const pod of pods)
    for (const c of pod.spec.containers)
      for (const p of c.ports ?? [])
        out.set(`${p.name ?? ''}/${p.containerPort}`, { ...(p.name ? { name: p.name } : {}), port: p.containerPort });
  return [...out.values()];
}

/**
 * Why a Service whose pods are Ready does not answer, from its
 * EndpointSlices and the pods it selects: a selector that matches no pod,
 * no ready endpoint, a targetPort that names no port of the pods, a
 * targetPort nothing declares (and nothing answers on), or pods that do not
 * answer on the right port. Placed on the selector or the targetPort.
 */
export function diagnoseService(
  service: PlannedService,
  workloads: readonly PlannedWorkload[],
  allPods: readonly Pod[],
  slices: readonly EndpointSlice[],
  lastFailure: string | undefined,
): ServiceDiagnosis {
  const src = service.source;
  const ports = src.get(['spec', 'ports']);
  const index = Array.isArray(ports)
    ? Math.max(
        0,
        ports.findIndex((p) => (p as { port?: unknown }).port === service.port?.port),
      )
    : 0;
  const portSpec = (Array.isArray(ports) ? ports[index] : undefined) as
    { targetPort?: unknown; port?: number; name?: string } | undefined;
  const targetPort = portSpec?.targetPort ?? portSpec?.port;
  const targetLocation =
    src.get(['spec', 'ports', index, 'targetPort']) !== undefined
      ? src.locate(['spec', 'ports', index, 'targetPort'], 'value')
      : src.get(['spec', 'ports', index]) !== undefined
        ? src.locate(['spec', 'ports', index], 'key')
        : src.startLocation();
  const selectorLocation =
    src.get(['spec', 'selector']) !== undefined ? src.locate(['spec', 'selector'], 'key') : src.startLocation();
  const pods = allPods.filter(
    (p) =>
      (p.metadata.namespace ?? service.namespace) === service.namespace &&
      !isTerminating(p) &&
      Object.keys(service.selector).length > 0 &&
      Object.entries(service.selector).every(([k, v]) => p.metadata.labels?.[k] === v),
  );
  const failure = lastFailure ? ` (last: ${lastFailure})` : '';
  const selector = Object.entries(service.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (pods.length === 0) {
    return {
      reason: 'NoEndpoints',
      message: `${service.subject} has no endpoints: its selector (${selector || 'none'}) matches none of the pods${failure}.`,
      location: selectorLocation,
      terminal: true,
    };
  }
  const endpoints = slices.flatMap((s) => s.endpoints ?? []);
  const ready = endpoints.filter((e) => e.conditions?.ready !== false);
  const declared = declaredPorts(pods);
  const list = declared.length
    ? declared.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(', ')
    : 'none';
  const noReadiness = workloads
    .filter((w) => w.namespace === service.namespace && selectorMatches(w.selector, pods[0]!.metadata.labels ?? {}))
    .some((w) => w.workload.containers.every((c) => c.value.readinessProbe === undefined));
  const readinessNote = noReadiness
    ? '; the pods have no readiness probe, so Kubernetes counts them Ready as soon as they start, whether they answer or not'
    : '';
  const portName = service.port?.name;
  const slicePorts = slices.flatMap((s) => s.ports ?? []);
  const hasPort = slicePorts.some((p) => (portName ? p.name === portName : true) && p.port !== undefined);
  if (typeof targetPort === 'string' && !/^\d+$/.test(targetPort)) {
    if (!declared.some((p) => p.name === targetPort) || (endpoints.length > 0 && !hasPort)) {
      return {
        reason: 'NamedPortNotFound',
        message: `${service.subject} has no ready endpoints, because its targetPort "${targetPort}" names no port of the ${pods.length} pod${pods.length === 1 ? '' : 's'} it selects (their containers declare ${list})${failure}.`,
        location: targetLocation,
        terminal: true,
      };
    }
  }
  if (endpoints.length > 0 && ready.length === 0) {
    return {
      reason: 'NoReadyEndpoints',
      message: `${service.subject} has no ready endpoints: none of the ${endpoints.length} pod${endpoints.length === 1 ? '' : 's'} it selects is Ready${failure}.`,
      location: selectorLocation,
      terminal: false,
    };
  }
  const numeric =
    typeof targetPort === 'number' ? targetPort : /^\d+$/.test(String(targetPort)) ? Number(targetPort) : undefined;
  if (numeric !== undefined && declared.length > 0 && !declared.some((p) => p.port === numeric)) {
    return {
      reason: 'PortNotDeclared',
      message: `${service.subject} sends its requests to targetPort ${numeric} of its ${ready.length || pods.length} ready endpoint${(ready.length || pods.length) === 1 ? '' : 's'}, where nothing answers${failure}: the pods' containers declare ${list}${readinessNote}.`,
      location: targetLocation,
      terminal: true,
    };
  }
  return {
    reason: 'NoAnswer',
    message: `${service.subject} has ${ready.length} ready endpoint${ready.length === 1 ? '' : 's'}, but they do not answer on targetPort ${String(targetPort ?? '?')}${failure}: check that the app listens on that port${readinessNote}.`,
    location: targetLocation,
    terminal: false,
  };
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
