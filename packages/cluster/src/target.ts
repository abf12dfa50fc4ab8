/**
 * Where a job's lab runs, and how it is cleaned up:
 *
 *  - kind: a cluster of its own per job (`<prefix>-<job>`), with a private
 *    kubeconfig in a temporary directory. Deleted afterwards in every outcome
 *    (then checked: no container labelled with the cluster's name is left).
 *  - existing: namespaces of its own per job in a cluster someone else runs
 *    (`lg-<job>-lab85`), created with `kubectl create` so a namespace that
 *    already exists is never adopted, and deleted afterwards with everything
 *    in them, plus the renamed cluster-scoped RBAC objects (by label).
 *
 * `tearDown` never throws and never uses the stage's AbortSignal: it runs
 * after a time-out too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandResult, CommandRunner, Logger } from '@labgrader/core';
import { Tool, displayName, firstLine, type Transcript } from './commands.js';
import type { ClusterConfig, ExistingTarget, KindTarget } from './config.js';
import {
  TEARDOWN_TIMEOUT_MS,
  checkKindPrerequisites,
  createKindCluster,
  deleteKindCluster,
  kindNodeNames,
  loadKindImages,
  requireTool,
  unavailable,
} from './kind-cluster.js';
import { JOB_LABEL, type NamespaceMapping } from './plan.js';
import type { ClusterSlot, ClusterSlots } from './slots.js';

export { kindConfigYaml, requireTool } from './kind-cluster.js';

export interface NodeAccess {
  /** Runs a command in a node (a Docker container named after the node). */
  exec(node: string, args: readonly string[]): Promise<CommandResult>;
  docker: Tool;
}

export interface TeardownReport {
  /** One line for evidence: what was deleted (or kept), and how long it took. */
  detail: string;
  ok: boolean;
}

export interface TargetSession {
  /** `kind cluster labgrader-3fa9c2 (node image …)`, `namespaces lg-3fa9c2-* in context kind-x`. */
  description: string;
  mapping: NamespaceMapping;
  kubectl: Tool;
  /** Shell access to the nodes, when the target allows it (kind; existing with nodeAccess: docker). */
  nodeAccess?: NodeAccess;
  /**
   * labgrader's admission policies: installed by the job (a cluster of its own), or checked (a cluster the
   * operator set up, or a warm cluster the pool set up once).
   */
  clusterPolicy: 'install' | 'check';
  /** The node egress guard was installed before the job (a warm cluster): what it covers, for the evidence. */
  egressGuard?: { podCidrs: string[]; nodes: string[] };
  /** The job may stop, drain and pause nodes (the node drills): the nodes are labgrader's own. */
  ownsNodes: boolean;
  /** Local images can be copied into the nodes (kind). */
  loadsImages: boolean;
  /** The job's namespaces bind the grader's ServiceAccount (an existing cluster's least-privileged grader). */
  graderServiceAccount: boolean;
  /** Says the job may have changed what outlives its namespaces (a node drill, an image of its own): a warm cluster is not reused. */
  markDirty(reason: string): void;
  /** A node to probe Services from, when there is node access. */
  probeNode(): Promise<string | undefined>;
  setUp(progress: (message: string) => void): Promise<void>;
  /** Loads local images into the cluster; returns which were loaded and which are not local. */
  loadImages(
    images: readonly string[],
    progress: (message: string) => void,
  ): Promise<{ loaded: string[]; notLocal: string[] }>;
  /** Namespaces this job created (deleted by tearDown in existing clusters). */
  registerNamespace(name: string): void;
  /** The node containers (kind): where the egress guard goes, and what the node drills act on. */
  nodes(): Promise<string[]>;
  /** How many nodes run the lab's pods (kind: the workers, or the control plane alone). */
  readonly schedulableNodes: number;
  tearDown(options: { keep: boolean; progress: (message: string) => void }): Promise<TeardownReport>;
}

export interface SessionDeps {
  runner: CommandRunner;
  transcript: Transcript;
  logger: Logger;
  signal: AbortSignal;
  job: string;
  makeTempDir?: () => Promise<string>;
  /** The per-host cap on kind clusters (none: no cap). */
  slots?: ClusterSlots;
}

export function createKindSession(config: ClusterConfig & { target: KindTarget }, deps: SessionDeps): TargetSession {
  const target = config.target;
  const name = `${target.clusterNamePrefix}-${deps.job}`;
  const node = `${name}-control-plane`;
  let dir: string | undefined;
  let kubeconfig = '';
  let created = false;
  let slot: ClusterSlot | undefined;
  const tool = (binary: string, base: string[] = []) =>
    new Tool(deps.runner, binary, displayName(binary), base, {}, deps.transcript, deps.logger, deps.signal);
  const kind = tool(target.binary);
  const docker = tool(config.docker);
  // The kubeconfig path is only known once the temporary directory exists; the Tool is rebuilt then.
  let kubectl = tool(config.kubectl);
  const nodeAccess: NodeAccess = {
    docker,
    exec: (n, args) => docker.run(['exec', n, ...args]),
  };
  const session: TargetSession = {
    description: `kind cluster ${name}${target.nodeImage ? ` (node image ${target.nodeImage})` : ''}`,
    mapping: { mode: 'kind', job: deps.job },
    get kubectl() {
      return kubectl;
    },
    nodeAccess,
    clusterPolicy: 'install',
    ownsNodes: true,
    loadsImages: true,
    graderServiceAccount: false,
    markDirty: () => {},
    probeNode: async () => node,
    async setUp(progress) {
      await checkKindPrerequisites(config, { kind, kubectl, docker }, progress);
      dir = await (deps.makeTempDir ?? (() => mkdtemp(path.join(tmpdir(), 'labgrader-kind-'))))();
      kubeconfig = path.join(dir, 'kubeconfig');
      kubectl = tool(config.kubectl, ['--kubeconfig', kubeconfig]);
      if (deps.slots) slot = await deps.slots.acquire({ cluster: name, signal: deps.signal, progress });
      progress(`creating ${session.description}`);
      created = true;
      await createKindCluster({ name, target, kubeconfig, tools: { kind, kubectl, docker }, progress });
    },
    loadImages: (images, progress) => loadKindImages(name, images, { kind, docker }, progress),
    registerNamespace: () => {},
    nodes: async () => kindNodeNames(name, target.workers),
    schedulableNodes: Math.max(1, target.workers),
    async tearDown({ keep, progress }) {
      let report: TeardownReport | undefined;
      try {
        if (!created) return (report = { ok: true, detail: 'no cluster was created' });
        if (keep) {
          const hint = `kind delete cluster --name ${name}`;
          deps.logger.warn('kept the kind cluster for debugging', { cluster: name, kubeconfig, delete: hint });
          progress(`kept ${name} for debugging (kubeconfig ${kubeconfig}); delete it with: ${hint}`);
          return (report = { ok: true, detail: `kept ${name} for debugging (keepOnFailure); delete it with: ${hint}` });
        }
        progress(`deleting the kind cluster ${name}`);
        report = await deleteKindCluster({
          name,
          kubeconfig,
          tools: { kind, kubectl, docker },
          logger: deps.logger,
          now: () => deps.transcript.now(),
        });
        return report;
      } finally {
        if (dir && !keep) await rm(dir, { recursive: true, force: true }).catch(() => {});
        // The slot is free either way; a cluster that could not be deleted stays on record for the janitor.
        const held = slot;
        slot = undefined;
        await held
          ?.release({ leftBehind: !keep && report?.ok !== true })
          .catch((err: unknown) =>
            deps.logger.warn('releasing the cluster slot failed', { cluster: name, error: String(err) }),
          );
      }
    },
  };
  return session;
}

export function createExistingSession(
  config: ClusterConfig & { target: ExistingTarget },
  deps: SessionDeps,
): TargetSession {
  const target = config.target;
  const base = [
    ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
    ...(target.context ? ['--context', target.context] : []),
  ];
  const env = target.kubeconfigEnv ? { KUBECONFIG: target.kubeconfigEnv } : {};
  const kubectl = new Tool(
    deps.runner,
    config.kubectl,
    displayName(config.kubectl),
    base,
    env,
    deps.transcript,
    deps.logger,
    deps.signal,
  );
  const docker = new Tool(
    deps.runner,
    config.docker,
    displayName(config.docker),
    [],
    {},
    deps.transcript,
    deps.logger,
    deps.signal,
  );
  const namespaces: string[] = [];
  const mapping: NamespaceMapping = { mode: 'existing', job: deps.job, prefix: target.namespacePrefix };
  const nodeAccess: NodeAccess | undefined =
    target.nodeAccess === 'docker' ? { docker, exec: (n, args) => docker.run(['exec', n, ...args]) } : undefined;
  const where = target.context ? `context ${target.context}` : 'the current context';
  return {
    description: `namespaces ${target.namespacePrefix}-${deps.job}-* in the existing cluster (${where})`,
    mapping,
    kubectl,
    ...(nodeAccess ? { nodeAccess } : {}),
    clusterPolicy: 'check',
    ownsNodes: false,
    loadsImages: false,
    graderServiceAccount: true,
    markDirty: () => {},
    async probeNode() {
      if (!nodeAccess) return undefined;
      const nodes = await kubectl.json<{ items: { metadata: { name: string } }[] }>(['get', 'nodes'], {
        unrecorded: true,
      });
      return nodes.items[0]?.metadata.name;
    },
    async setUp(progress) {
      await requireTool(config.kubectl, 'LABGRADER_KUBECTL', () =>
        kubectl.output(['version', '--client'], { timeoutMs: 30_000 }),
      );
      progress(`connecting to the cluster (${where})`);
      const ready = await kubectl.run(['get', '--raw', '/readyz', '--request-timeout=20s'], { timeoutMs: 40_000 });
      if (ready.exitCode !== 0) {
        throw unavailable(
          `the cluster (${where}) cannot be reached: ${firstLine(ready.stderr || ready.stdout)}`,
          "Check --kube-context / the rubric's stages.cluster.settings.target and KUBECONFIG, or grade with --cluster none.",
        );
      }
      const canI = await kubectl.run(['auth', 'can-i', 'create', 'namespaces'], { timeoutMs: 30_000 });
      if (canI.stdout.trim() !== 'yes') {
        throw unavailable(
          `the credentials for ${where} may not create namespaces, which each grading job needs`,
          'Grant the grader permission to create and delete namespaces (and what the labs create in them).',
        );
      }
      // Who grades here, for the report's target line (SelfSubjectReview, Kubernetes 1.28+): with
      // deploy/grading-cluster/, the least-privileged labgrader-grader ServiceAccount. Never fatal.
      const whoami = await kubectl
        .run(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { timeoutMs: 30_000, unrecorded: true })
        .catch(() => undefined);
      const user = whoami?.exitCode === 0 ? whoami.stdout.trim() : '';
      if (user) this.description = `${this.description} as ${user}`;
    },
    async loadImages(images) {
      // Images cannot be pushed into a cluster someone else runs: the nodes pull what they can.
      return { loaded: [], notLocal: [...images] };
    },
    registerNamespace(name) {
      if (!namespaces.includes(name)) namespaces.push(name);
    },
    nodes: async () => [],
    schedulableNodes: 1,
    async tearDown({ keep, progress }) {
      if (namespaces.length === 0) return { ok: true, detail: 'nothing was created' };
      if (keep) {
        const hint = `kubectl delete namespace ${namespaces.join(' ')}`;
        progress(`kept ${namespaces.join(', ')} for debugging; delete with: ${hint}`);
        return {
          ok: true,
          detail: `kept ${namespaces.join(', ')} for debugging (keepOnFailure); delete with: ${hint}`,
        };
      }
      progress(`deleting namespaces ${namespaces.join(', ')}`);
      return deleteJobNamespaces({
        kubectl,
        namespaces,
        job: deps.job,
        logger: deps.logger,
        now: () => deps.transcript.now(),
      });
    },
  };
}

/**
 * Deletes a job's namespaces with everything in them, and proves it: no
 * namespace labelled with the job is left. Never throws, never uses the job's
 * AbortSignal.
 */
export async function deleteJobNamespaces(options: {
  kubectl: Tool;
  namespaces: readonly string[];
  job: string;
  logger: Logger;
  now: () => number;
}): Promise<TeardownReport> {
  const { kubectl, namespaces, job, logger } = options;
  const t0 = options.now();
  try {
    let ok = true;
    if (namespaces.length > 0) {
      const args = ['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=true', '--timeout=170s'];
      // A Ctrl-C sent to the whole process group kills this command too (the runner then throws): once more.
      const attempt = () =>
        kubectl.run(args, { signal: null, timeoutMs: TEARDOWN_TIMEOUT_MS }).catch((err: unknown) => {
          logger.warn('kubectl delete namespace failed', { namespaces, error: String(err) });
          return undefined;
        });
      let deleted = await attempt();
      deleted ??= await attempt();
      ok &&= deleted?.exitCode === 0;
    }
    const left = await kubectl.run(['get', 'namespaces', '-l', `${JOB_LABEL}=${job}`, '-o', 'name'], {
      signal: null,
      timeoutMs: 60_000,
    });
    const remaining = left.exitCode === 0 ? left.stdout.split(/\s+/).filter(Boolean) : ['(could not list them)'];
    const seconds = ((options.now() - t0) / 1000).toFixed(1);
    if (remaining.length > 0) logger.error('namespaces left after cleanup', { namespaces: remaining });
    return {
      ok: ok && remaining.length === 0,
      detail:
        remaining.length === 0
          ? `deleted namespaces ${namespaces.join(', ')} in ${seconds} s`
          : `namespaces still present after cleanup: ${remaining.join(', ')}`,
    };
  } catch (err) {
    logger.error('cleaning up the namespaces failed', { namespaces, error: String(err) });
    return { ok: false, detail: `cleaning up ${namespaces.join(', ')} failed: ${String(err)}` };
  }
}

/**
 * A warm cluster's hand-back, quicker than deleteJobNamespaces and as safe for
 * the next job: the namespaces are deleted without waiting for the namespace
 * controller (about 6 s even for an empty namespace on this 2-core machine:
 * it lists and deletes every namespaced resource type), and the job's pods
 * are stopped with a grace period of 1 s (their own, 20–30 s, would hold the
 * cluster) and proven gone: when this returns ok no code of the job runs any
 * more. A terminating namespace admits no new pods; the rest of its objects
 * goes in the background, and the pool's health check retires a cluster
 * whose earlier namespaces do not go. Never throws, never uses the job's
 * AbortSignal.
 */
export async function stopJobNamespaces(options: {
  kubectl: Tool;
  namespaces: readonly string[];
  logger: Logger;
  now: () => number;
}): Promise<TeardownReport> {
  const { kubectl, namespaces, logger } = options;
  if (namespaces.length === 0) return { ok: true, detail: 'no namespaces to delete' };
  const t0 = options.now();
  const run = (args: string[], timeoutMs = TEARDOWN_TIMEOUT_MS) =>
    kubectl.run(args, { signal: null, timeoutMs }).catch((err: unknown) => {
      logger.warn('kubectl failed while giving a warm cluster back', { args: args.join(' '), error: String(err) });
      return undefined;
    });
  try {
    const deleting = ['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=false'];
    // A Ctrl-C sent to the whole process group kills this command too (the runner then throws): once more.
    const deleted = (await run(deleting)) ?? (await run(deleting));
    if (deleted?.exitCode !== 0) {
      return {
        ok: false,
        detail: `deleting namespaces ${namespaces.join(', ')} failed: ${firstLine(deleted?.stderr ?? '')}`,
      };
    }
    for (const namespace of namespaces) {
      await run([
        'delete',
        'pods',
        '--all',
        '-n',
        namespace,
        '--grace-period=1',
        '--ignore-not-found',
        '--wait=true',
        '--timeout=120s',
      ]);
    }
    const pods = await run(
      ['get', 'pods', '--all-namespaces', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}{"\\n"}{end}'],
      60_000,
    );
    if (pods?.exitCode !== 0) return { ok: false, detail: 'the pods of the job could not be listed' };
    const running = pods.stdout.split('\n').filter((ns) => namespaces.includes(ns));
    const seconds = ((options.now() - t0) / 1000).toFixed(1);
    if (running.length > 0) {
      const where = [...new Set(running)];
      logger.error('pods left after giving a warm cluster back', { namespaces: where });
      return { ok: false, detail: `${running.length} pod(s) of ${where.join(', ')} still there after ${seconds} s` };
    }
    return {
      ok: true,
      detail: `stopped every pod of ${namespaces.join(', ')} in ${seconds} s; the namespaces are being deleted`,
    };
  } catch (err) {
    logger.error('giving a warm cluster back failed', { namespaces, error: String(err) });
    return { ok: false, detail: `stopping ${namespaces.join(', ')} failed: ${String(err)}` };
  }
}
