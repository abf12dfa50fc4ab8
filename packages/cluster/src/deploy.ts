/**
 * Deploying the plan: namespaces, the synthesized Secrets, then every object
 * of the manifests with one `kubectl apply`; then waiting until every
 * workload is Ready, and explaining the ones that are not.
 *
 * What is applied is what manifest-lint's discovery read (plain files,
 * rendered kustomizations and Helm charts), so the cluster runs exactly the
 * objects the lint stage graded, each one traceable to its file and line,
 * and namespaces can be rewritten for an existing cluster.
 */
import { InfrastructureError, type Clock } from '@labgrader/core';
import { firstLine, type Tool } from './commands.js';
import { diagnoseWorkload, eventLines, newWaitMemory, podsOf, terminalReason, type Diagnosis } from './diagnose.js';
import {
  desiredReplicas,
  readyCount,
  workloadReady,
  type ClusterWorkload,
  type KubeEvent,
  type List,
  type Pod,
} from './kube.js';
import { jobNamespaceLabels } from './isolation/admission.js';
import {
  JOB_LABEL,
  withPodSecurity,
  type DeployPlan,
  type Json,
  type PlannedObject,
  type PlannedWorkload,
} from './plan.js';
import type { Redactor } from './secrets.js';

export interface ApplyFailure {
  object: PlannedObject;
  message: string;
}

export interface WorkloadOutcome {
  planned: PlannedWorkload;
  ready: boolean;
  /** Seconds from the end of `kubectl apply` until it was Ready. */
  readySeconds?: number;
  desired: number;
  readyReplicas: number;
  diagnoses: Diagnosis[];
  /** Recent events about it, when it was not Ready. */
  events: string[];
  /** Why waiting for it was given up before the time-out: its state cannot change by itself. */
  terminal?: string;
  /**
   * What went wrong after it was Ready, while the stage watched it (restarts
   * its liveness probe caused, crashes, OOM kills): one diagnosis per cause.
   */
  afterReady?: Diagnosis[];
  /** Restarts of its containers after it was Ready that no drill caused. */
  restartsAfterReady?: number;
}

export interface DeployOutcome {
  applied: number;
  applyFailures: ApplyFailure[];
  workloads: WorkloadOutcome[];
  /** Seconds from the start of `kubectl apply` until the last workload was Ready (or the time-out). */
  seconds: number;
  timeoutSeconds: number;
  /** Set when the wait ended before the time-out because every workload still waited for is terminal. */
  stoppedWaiting?: { afterSeconds: number; reason: string };
}

export interface DeployDeps {
  kubectl: Tool;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  redactor: Redactor;
  progress: (message: string) => void;
}

const CONNECTION_TROUBLE =
  /Unable to connect to the server|connection refused|i\/o timeout|TLS handshake timeout|the server is currently unable to handle the request|context deadline exceeded|no such host|Client\.Timeout/i;

function list(items: readonly Json[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Creates (existing clusters: `create`, so that a namespace that already exists is never adopted) or applies namespaces. */
export async function createNamespaces(
  plan: DeployPlan,
  deps: DeployDeps,
  onCreated: (namespace: string) => void,
): Promise<ApplyFailure[]> {
  const failures: ApplyFailure[] = [];
  const generated = (name: string): Json => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: withPodSecurity(jobNamespaceLabels({}, plan.mapping.job), plan.podSecurity),
    },
  });
  const items: { manifest: Json; object?: PlannedObject; name: string }[] = [
    ...plan.namespaceObjects.map((o) => ({
      manifest: o.manifest,
      object: o,
      name: String((o.manifest.metadata as Json).name),
    })),
    ...plan.extraNamespaces.map((name) => ({ manifest: generated(name), name })),
  ];
  // kind: the lab's objects without a namespace land in `default`, which exists already.
  if (plan.mapping.mode === 'kind' && plan.namespaces.includes('default')) {
    // The job label makes `default` one of the job's namespaces for the admission policies and egress rules.
    await deps.kubectl.output([
      'label',
      'namespace',
      'default',
      `${JOB_LABEL}=${plan.mapping.job}`,
      ...(plan.podSecurity !== 'privileged' ? [`pod-security.kubernetes.io/enforce=${plan.podSecurity}`] : []),
      '--overwrite',
    ]);
  }
  for (const item of items) {
    const verb = plan.mapping.mode === 'existing' ? 'create' : 'apply';
    const result = await deps.kubectl.run([verb, '-f', '-'], { input: list([item.manifest]) });
    if (result.exitCode === 0) {
      onCreated(item.name);
      continue;
    }
    const message = deps.redactor.redact(firstLine(result.stderr || result.stdout));
    if (CONNECTION_TROUBLE.test(message))
      throw new InfrastructureError(`kubectl ${verb} namespace ${item.name}: ${message}`);
    if (plan.mapping.mode === 'existing' && /AlreadyExists|already exists/i.test(message)) {
      throw new InfrastructureError(
        `namespace ${item.name} already exists in the cluster; labgrader never adopts a namespace it did not create`,
      );
    }
    if (item.object) failures.push({ object: item.object, message });
    else throw new InfrastructureError(`kubectl ${verb} namespace ${item.name}: ${message}`);
  }
  return failures;
}

/** Creates the synthesized Secrets. Their values are in the input only, which is never logged. */
export async function createSecrets(secrets: readonly Json[], deps: DeployDeps): Promise<void> {
  if (secrets.length === 0) return;
  const result = await deps.kubectl.run(['create', '-f', '-'], { input: list(secrets), sensitive: true });
  if (result.exitCode !== 0) {
    throw new InfrastructureError(
      `kubectl create of the synthesized Secrets failed: ${deps.redactor.redact(firstLine(result.stderr))}`,
    );
  }
}

/**
 * Kinds in the order a package manager installs them (Helm's install order):
 * what pods need (ServiceAccounts, ConfigMaps, Secrets, claims, RBAC) before
 * the workloads, so no controller meets a missing ServiceAccount and the
 * first pods start with what they need.
 */
const INSTALL_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];

export function installOrder(objects: readonly PlannedObject[]): PlannedObject[] {
  const rank = (o: PlannedObject) => {
    const i = INSTALL_ORDER.indexOf(o.source.kind);
    return i < 0 ? INSTALL_ORDER.length : i;
  };
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i)
    .map(({ o }) => o);
}

/**
 * Applies every object in one request; when that fails, applies them one by
 * one to tell which objects the API server rejects (student mistakes, as
 * findings) from a cluster that is down (our problem).
 */
export async function applyObjects(unordered: readonly PlannedObject[], deps: DeployDeps): Promise<ApplyFailure[]> {
  if (unordered.length === 0) return [];
  const objects = installOrder(unordered);
  const all = await deps.kubectl.run(['apply', '-f', '-'], {
    input: list(objects.map((o) => o.manifest)),
    timeoutMs: 120_000,
  });
  if (all.exitCode === 0) return [];
  const first = deps.redactor.redact(firstLine(all.stderr));
  if (CONNECTION_TROUBLE.test(first)) throw new InfrastructureError(`kubectl apply failed: ${first}`);
  const failures: ApplyFailure[] = [];
  for (const object of objects) {
    const one = await deps.kubectl.run(['apply', '-f', '-'], { input: list([object.manifest]) });
    if (one.exitCode === 0) continue;
    const message = deps.redactor.redact(firstLine(one.stderr || one.stdout));
    if (CONNECTION_TROUBLE.test(message)) throw new InfrastructureError(`kubectl apply failed: ${message}`);
    failures.push({ object, message: message.replace(/^error: /, '').replace(/^Error from server \(\w+\): /, '') });
  }
  return failures;
}

async function getWorkloads(namespace: string, deps: DeployDeps): Promise<ClusterWorkload[]> {
  const listed = await deps.kubectl.json<List<ClusterWorkload>>(
    ['-n', namespace, 'get', 'deployments.apps,statefulsets.apps,daemonsets.apps'],
    { unrecorded: true },
  );
  return listed.items;
}

/** From this long after apply on, the wait looks at the pods of the workloads still pending, every few polls. */
const TERMINAL_CHECK_AFTER_MS = 5_000;
const TERMINAL_CHECK_EVERY_POLLS = 4;

export interface WaitResult {
  workloads: WorkloadOutcome[];
  /** Set when every workload still waited for is terminal: the wait stopped before the time-out. */
  stoppedWaiting?: { afterSeconds: number; reason: string };
}

/**
 * Polls the workloads until every one is Ready, or the time is up, or every
 * one still pending is in a state that cannot end by itself (an image pull
 * refused and backing off, the same crash again and again, unschedulable, no
 * sandbox: see `terminalReason`), which the outcome then says.
 */
export async function waitForWorkloads(
  workloads: readonly PlannedWorkload[],
  timeoutMs: number,
  pollMs: number,
  deps: DeployDeps,
  failed: ReadonlySet<PlannedWorkload>,
): Promise<WaitResult> {
  const started = deps.clock.monotonicMs();
  const state = new Map<
    PlannedWorkload,
    { ready: boolean; readyMs?: number; seen?: ClusterWorkload; terminal?: string }
  >(workloads.map((w) => [w, { ready: false }]));
  const namespaces = [...new Set(workloads.filter((w) => !failed.has(w)).map((w) => w.namespace))];
  const memory = newWaitMemory();
  let polls = 0;
  let stoppedWaiting: WaitResult['stoppedWaiting'];
  for (;;) {
    for (const namespace of namespaces) {
      const seen = await getWorkloads(namespace, deps);
      for (const w of workloads) {
        if (w.namespace !== namespace) continue;
        const entry = state.get(w)!;
        const found = seen.find((s) => s.kind === w.kind && s.metadata.name === w.name);
        if (found) entry.seen = found;
        if (!entry.ready && found && workloadReady(found)) {
          entry.ready = true;
          entry.readyMs = deps.clock.monotonicMs() - started;
          delete entry.terminal;
        }
      }
    }
    polls += 1;
    const pending = workloads.filter((w) => !failed.has(w) && !state.get(w)!.ready);
    if (pending.length === 0) break;
    const elapsed = deps.clock.monotonicMs() - started;
    if (elapsed >= timeoutMs) break;
    if (elapsed >= TERMINAL_CHECK_AFTER_MS && polls % TERMINAL_CHECK_EVERY_POLLS === 0) {
      for (const namespace of new Set(pending.map((w) => w.namespace))) {
        const pods = (await deps.kubectl.json<List<Pod>>(['-n', namespace, 'get', 'pods'], { unrecorded: true })).items;
        const events = (
          await deps.kubectl.json<List<KubeEvent>>(['-n', namespace, 'get', 'events'], { unrecorded: true })
        ).items;
        for (const w of pending.filter((p) => p.namespace === namespace)) {
          const why = terminalReason(w, pods, events, memory);
          if (why) state.get(w)!.terminal = deps.redactor.redact(why);
          else delete state.get(w)!.terminal;
        }
      }
      if (pending.every((w) => state.get(w)!.terminal !== undefined)) {
        const afterSeconds = Math.round((deps.clock.monotonicMs() - started) / 100) / 10;
        const reason = pending
          .map((w) => `the state of ${w.subject} is terminal: ${state.get(w)!.terminal}`)
          .join('; ');
        stoppedWaiting = { afterSeconds, reason };
        deps.progress(`stopped waiting after ${afterSeconds} s: ${reason}`);
        break;
      }
    }
    if (polls % 10 === 1) {
      deps.progress(
        `waiting for ${pending.map((w) => w.subject).join(', ')} to become Ready (${Math.round(elapsed / 1000)} s)`,
      );
    }
    await deps.sleep(pollMs);
  }
  return {
    workloads: workloads.map((w) => {
      const entry = state.get(w)!;
      const seen = entry.seen;
      return {
        planned: w,
        ready: entry.ready,
        ...(entry.readyMs !== undefined ? { readySeconds: Math.round(entry.readyMs / 100) / 10 } : {}),
        desired: seen ? desiredReplicas(seen) : (w.workload.replicas ?? 1),
        readyReplicas: seen ? readyCount(seen) : 0,
        diagnoses: [],
        events: [],
        ...(stoppedWaiting && entry.terminal ? { terminal: entry.terminal } : {}),
      };
    }),
    ...(stoppedWaiting ? { stoppedWaiting } : {}),
  };
}

/** Fills in why the workloads that are not Ready are not, from pods, events and crash logs. */
export async function explainUnready(outcomes: WorkloadOutcome[], deps: DeployDeps): Promise<void> {
  const unready = outcomes.filter((o) => !o.ready);
  for (const namespace of new Set(unready.map((o) => o.planned.namespace))) {
    const pods = (await deps.kubectl.json<List<Pod>>(['-n', namespace, 'get', 'pods'])).items;
    const events = (await deps.kubectl.json<List<KubeEvent>>(['-n', namespace, 'get', 'events'])).items;
    for (const outcome of unready.filter((o) => o.planned.namespace === namespace)) {
      const logs = new Map<string, string>();
      for (const pod of podsOf(outcome.planned, pods).slice(0, 2)) {
        for (const status of pod.status.containerStatuses ?? []) {
          if (status.restartCount === 0 || status.state?.running) continue;
          const result = await deps.kubectl.run(
            ['-n', namespace, 'logs', pod.metadata.name, '-c', status.name, '--previous', '--tail=5'],
            { sensitive: true },
          );
          if (result.exitCode === 0 && result.stdout.trim())
            logs.set(`${pod.metadata.name}/${status.name}`, deps.redactor.redact(result.stdout.trim()));
        }
      }
      outcome.diagnoses = diagnoseWorkload(outcome.planned, pods, events, logs).map((d) => ({
        ...d,
        message: deps.redactor.redact(d.message),
      }));
      outcome.events = eventLines(outcome.planned, pods, events).map((line) => deps.redactor.redact(line));
    }
  }
}
