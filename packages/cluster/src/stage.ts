/**
 * The cluster stage as the pipeline sees it. `prepare` does all the work and
 * all the measuring: read the manifests (manifest-lint's discovery), create
 * the target (a kind cluster, or namespaces in an existing cluster), load the
 * local images, create the Secrets the lab expects out of band, apply, wait
 * for Ready, probe the Service, run the drills the rubric grades (pod kill,
 * container kill, bad rollout + undo), and delete everything it created, in
 * every outcome, time-outs included. The checks then grade the measurements.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import {
  CommandNotFoundError,
  NotGradableError,
  systemClock,
  throwIfAborted,
  type Clock,
  type ConfiguredCheck,
  type Evidence,
  type GradingStage,
  type StageInput,
  type StagePreparation,
} from '@labgrader/core';
import { discoverObjects, lintSettingsSchema, type LintSettings } from '@labgrader/manifest-lint';
import { serviceAvailabilityOptions } from './checks/service-availability.js';
import { Transcript, realSleep } from './commands.js';
import { resolveClusterConfig, type ClusterConfig, type Env, type ExistingTarget, type KindTarget } from './config.js';
import type { BaselineResult, ClusterContext } from './context.js';
import { diagnoseService, type ServiceDiagnosis } from './diagnose.js';
import type { EndpointSlice, List, Pod } from './kube.js';
import { SteadyWatch, kubeletLivenessCounters, steadyWindow, type DrillRestart, type Instability } from './steady.js';
import {
  applyObjects,
  createNamespaces,
  createSecrets,
  explainUnready,
  waitForWorkloads,
  type DeployDeps,
  type DeployOutcome,
} from './deploy.js';
import type { ApiScopes } from './isolation/api-resources.js';
import { APPLIER, APPLIER_USER } from './isolation/cluster-policy.js';
import {
  applyGuardrails,
  checkClusterPolicy,
  discoverScopes,
  installClusterPolicy,
  installNodeGuard,
  verifyEnforcement,
} from './isolation/enforce.js';
import { EGRESS_POLICY } from './isolation/guardrails.js';
import { nodeIpsOf, type NodeList } from './isolation/node-guard.js';
import { buildPlan, mainService, mainWorkload } from './plan.js';
import { apiProxyProber, nodeProber, type ServiceProber } from './probe.js';
import { isSteady, notRun, seconds, waitSteady, type DrillContext, type DrillResult } from './drills/common.js';
import type { DrillTarget } from './drills/contract.js';
import { DRILLS, type AnyDrill, type DrillId } from './drills/index.js';
import { CLUSTER_ABORT_GRACE_MS, clusterRegistry } from './registry.js';
import { unreportedCause } from './cause.js';
import { StudentImages } from './images.js';
import { preferImagesInNodes } from './pull-policy.js';
import type { Change } from './isolation/admission.js';
import { Redactor, secretManifests } from './secrets.js';
import { clusterSettingsSchema, type ClusterSettings } from './settings.js';
import type { ClusterSlots } from './slots.js';
import { createWarmSession, type ClusterPool, type KindConfig } from './pool.js';
import { createExistingSession, createKindSession, type TargetSession } from './target.js';

export { CLUSTER_ABORT_GRACE_MS, clusterRegistry };

export interface ClusterStageDeps {
  /** The grading machine's environment (LABGRADER_KIND…); default: process.env, read at each run. */
  env?: Env;
  clock?: Clock;
  /** Abortable pause; tests advance a fake clock instead. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  randomBytes?: (n: number) => Uint8Array;
  /** Private directory for the kind kubeconfig. */
  makeTempDir?: () => Promise<string>;
  /** The per-host cap on kind clusters (a worker's, over Redis); none: no cap. */
  clusterSlots?: ClusterSlots;
  /** Warm kind clusters (a worker's): a kind-target job grades in one when the pool has one ready. */
  clusterPool?: ClusterPool;
}

/** Records a drill's result under its id (each id's result type is the drill's own). */
function setDrill(context: ClusterContext, id: DrillId, result: DrillResult): void {
  (context.drills as Record<string, DrillResult>)[id] = result;
}

/**
 * Which drills to run: `always`, never `never`, and on `auto` those a
 * configured check grades (every drill when the caller does not say which
 * checks are configured).
 */
export function drillsToRun(
  settings: Pick<ClusterSettings, 'drills' | 'scenarios'>,
  checks: readonly ConfiguredCheck[] | undefined,
): { run: AnyDrill[]; disabled: DrillId[] } {
  const drillSettings = settings.scenarios ?? settings.drills;
  const needed = new Set<DrillId>(checks ? [] : DRILLS.map((d) => d.id));
  for (const check of checks ?? []) {
    for (const drill of DRILLS) if (drill.gradedBy.includes(check.id)) needed.add(drill.id);
    if (check.id === 'cluster/service-availability') {
      const parsed = serviceAvailabilityOptions.safeParse(check.options ?? {});
      for (const id of parsed.success ? parsed.data.during : DRILLS.map((d) => d.id)) needed.add(id);
    }
  }
  const run: AnyDrill[] = [];
  const disabled: DrillId[] = [];
  for (const drill of DRILLS) {
    const when = drillSettings[drill.settingsKey as keyof typeof drillSettings].run;
    if (when === 'always' || (when === 'auto' && needed.has(drill.id))) run.push(drill);
    else if (when === 'never' && needed.has(drill.id)) disabled.push(drill.id);
  }
  return { run, disabled };
}

function discoverySettings(config: ClusterConfig): LintSettings {
  const m = config.manifests;
  return lintSettingsSchema.parse({
    ...(m.include ? { include: m.include } : {}),
    ...(m.exclude ? { exclude: m.exclude } : {}),
    extraExclude: m.extraExclude,
    render: { kustomizations: m.kustomizations },
  });
}

function emptyDeploy(timeoutSeconds: number): DeployOutcome {
  return { applied: 0, applyFailures: [], workloads: [], seconds: 0, timeoutSeconds };
}

function ev(label: string, detail: string): Evidence {
  return { checkId: 'cluster/deploys-ready', label, detail };
}

/** What labgrader changed in the lab's objects to grade them, at the student's line. */
function changedEvidence(changed: Change): Evidence {
  return {
    checkId: 'cluster/deploys-ready',
    label: 'changed',
    detail: `${changed.subject}: ${changed.change}`,
    location: changed.location,
  };
}

async function makeProber(
  session: TargetSession,
  context: ClusterContext,
  config: ClusterConfig,
  clock: Clock,
  sleep: (ms: number) => Promise<void>,
  randomHex: () => string,
): Promise<ServiceProber | undefined> {
  const service = context.main.service;
  if (!service?.port) return undefined;
  const node = session.nodeAccess ? await session.probeNode() : undefined;
  if (session.nodeAccess && node) {
    const svc = await session.kubectl.json<{ spec: { clusterIP?: string } }>([
      '-n',
      service.namespace,
      'get',
      `service/${service.name}`,
    ]);
    const clusterIP = svc.spec.clusterIP;
    if (clusterIP && clusterIP !== 'None') {
      return nodeProber({
        docker: session.nodeAccess.docker,
        node,
        clusterIP,
        port: service.port.port,
        path: config.probe.path,
        intervalMs: config.probe.intervalMs,
        requestTimeoutMs: config.probe.requestTimeoutMs,
        nextId: randomHex,
      });
    }
  }
  return apiProxyProber({
    kubectl: session.kubectl,
    namespace: service.namespace,
    service: service.name,
    port: service.port.port,
    path: config.probe.path,
    intervalMs: Math.max(config.probe.intervalMs, 250),
    requestTimeoutMs: config.probe.requestTimeoutMs,
    clock,
    sleep,
  });
}

/** The Service's answers are diagnosed this often while it does not answer. */
const DIAGNOSE_EVERY_MS = 5_000;
/** A Service that cannot answer (no endpoint, a targetPort nothing declares) is asked at least this long. */
const MIN_BASELINE_MS = 10_000;
const MIN_BASELINE_ATTEMPTS = 5;

/**
 * Asks the Service once a second until it answers (it may take kube-proxy a
 * moment to program it). While it does not, `diagnose` says why; when that
 * cannot change by waiting (no endpoint the selector could match, a
 * targetPort no container declares), it stops early and says so.
 */
async function probeBaseline(
  prober: ServiceProber,
  timeoutMs: number,
  clock: Clock,
  sleep: (ms: number) => Promise<void>,
  diagnose?: (lastFailure: string | undefined) => Promise<ServiceDiagnosis | undefined>,
): Promise<BaselineResult> {
  const started = clock.monotonicMs();
  let attempts = 0;
  let lastFailure: string | undefined;
  let nextDiagnosis = DIAGNOSE_EVERY_MS;
  for (;;) {
    attempts += 1;
    const sample = await prober.once();
    const elapsed = clock.monotonicMs() - started;
    const afterSeconds = seconds(elapsed);
    if (sample.ok) return { answered: true, afterSeconds, attempts, via: prober.via };
    lastFailure = sample.detail;
    const failed = (diagnosis?: ServiceDiagnosis, stoppedWaiting?: string): BaselineResult => ({
      answered: false,
      afterSeconds,
      attempts,
      via: prober.via,
      ...(lastFailure ? { lastFailure } : {}),
      ...(diagnosis ? { diagnosis } : {}),
      ...(stoppedWaiting ? { stoppedWaiting } : {}),
    });
    if (elapsed >= timeoutMs) return failed(await diagnose?.(lastFailure));
    if (diagnose && elapsed >= nextDiagnosis) {
      nextDiagnosis = elapsed + DIAGNOSE_EVERY_MS;
      const diagnosis = await diagnose(lastFailure);
      if (diagnosis?.terminal && elapsed >= MIN_BASELINE_MS && attempts >= MIN_BASELINE_ATTEMPTS) {
        return failed(
          diagnosis,
          `stopped waiting for the Service after ${afterSeconds} s (${attempts} requests): the state is terminal, ${diagnosis.reason}`,
        );
      }
    }
    await sleep(1000);
  }
}

/** What the Service's EndpointSlices and pods say about why it does not answer. */
async function serviceDiagnoser(
  session: TargetSession,
  context: ClusterContext,
  redactor: Redactor,
): Promise<((lastFailure: string | undefined) => Promise<ServiceDiagnosis | undefined>) | undefined> {
  const service = context.main.service;
  if (!service) return undefined;
  return async (lastFailure) => {
    const pods = await session.kubectl.run(['-n', service.namespace, 'get', 'pods', '-o', 'json'], {
      unrecorded: true,
    });
    const slices = await session.kubectl.run(
      [
        '-n',
        service.namespace,
        'get',
        'endpointslices.discovery.k8s.io',
        '-l',
        `kubernetes.io/service-name=${service.name}`,
        '-o',
        'json',
      ],
      { unrecorded: true },
    );
    const parse = <T>(stdout: string, ok: boolean): T[] => {
      if (!ok) return [];
      try {
        return (JSON.parse(stdout) as List<T>).items ?? [];
      } catch {
        return [];
      }
    };
    const diagnosis = diagnoseService(
      service,
      context.plan.workloads,
      parse<Pod>(pods.stdout, pods.exitCode === 0),
      parse<EndpointSlice>(slices.stdout, slices.exitCode === 0),
      lastFailure,
    );
    return { ...diagnosis, message: redactor.redact(diagnosis.message) };
  };
}

/** How often the steady-state watch looks at the pods once the drills are done. */
const STEADY_POLL_MS = 2_000;
/** waitSteady before each drill, in slices, so that a workload that restarts by itself is noticed. */
const SETTLE_SLICE_MS = 10_000;
const SETTLE_MS = 120_000;

/** Waits (bounded) until the workload is whole again before a drill; false when it does not settle, or restarts by itself. */
async function settle(
  ctx: DrillContext,
  watch: SteadyWatch | undefined,
  drillRestarts: () => DrillRestart[],
  unsteady: (found: readonly Instability[]) => Instability | undefined,
  terminating: 'allowed' | 'gone',
): Promise<boolean> {
  const started = ctx.clock.monotonicMs();
  for (;;) {
    if (await waitSteady(ctx, SETTLE_SLICE_MS, terminating)) return true;
    if (ctx.clock.monotonicMs() - started >= SETTLE_MS) return false;
    if (watch && unsteady(await watch.check(drillRestarts()))) return false;
  }
}

export async function prepareCluster(
  input: StageInput<ClusterSettings>,
  deps: ClusterStageDeps = {},
): Promise<StagePreparation<ClusterContext>> {
  const settings = clusterSettingsSchema.parse(input.settings ?? {});
  const config = resolveClusterConfig(settings, deps.env ?? process.env);
  const clock = deps.clock ?? systemClock;
  const { signal, progress, logger } = input;
  const sleep = (ms: number) => (deps.sleep ?? realSleep)(ms, signal);
  const randomBytes = deps.randomBytes ?? ((n: number) => new Uint8Array(cryptoRandomBytes(n)));
  const randomHex = () => Buffer.from(randomBytes(4)).toString('hex');
  const transcript = new Transcript(clock, clock.monotonicMs());
  const evidence: Evidence[] = [];
  const { run, disabled } = drillsToRun(settings, input.checks);

  throwIfAborted(signal);
  progress('reading the manifests');
  const discovery = await discoverObjects({
    repo: input.repo,
    settings: discoverySettings(config),
    runner: input.runner,
    signal,
    progress,
  });
  const job = Buffer.from(randomBytes(3)).toString('hex');
  const sessionDeps = {
    runner: input.runner,
    transcript,
    logger,
    signal,
    job,
    ...(deps.makeTempDir ? { makeTempDir: deps.makeTempDir } : {}),
    ...(deps.clusterSlots ? { slots: deps.clusterSlots } : {}),
  };
  const studentImages = new StudentImages({
    runner: input.runner,
    transcript,
    logger,
    signal,
    docker: config.docker,
    job,
    repo: input.repo,
    settings: config.images,
  });
  let session =
    config.target.type === 'kind'
      ? createKindSession(config as ClusterConfig & { target: KindTarget }, sessionDeps)
      : createExistingSession(config as ClusterConfig & { target: ExistingTarget }, sessionDeps);
  const planWith = (scopes?: ApiScopes, probeSources?: readonly string[]) =>
    buildPlan(discovery.objects, {
      mapping: session.mapping,
      ...(config.workload ? { workload: config.workload } : {}),
      ...(config.service ? { service: config.service } : {}),
      secrets: config.secrets,
      podSecurity: config.podSecurity,
      isolation: config.isolation,
      ...(scopes ? { scopes } : {}),
      ...(probeSources ? { probeSources } : {}),
    });
  // Planned first with the bundled schema's scopes; planned again with the target's own discovery once it is up.
  let plan = planWith();
  const context: ClusterContext = {
    target: session.description,
    plan,
    deploy: emptyDeploy(config.readyTimeoutSeconds),
    main: {},
    drills: {},
    disabled,
    unsupported: {},
  };
  const choose = () => {
    const main = mainWorkload(plan, config.workload);
    const svc = mainService(plan, main.workload, config.service);
    context.plan = plan;
    context.main = {
      ...(main.workload ? { workload: main.workload } : {}),
      ...(main.problem ? { workloadProblem: main.problem } : {}),
      ...(svc.service ? { service: svc.service } : {}),
      ...(svc.problem ? { serviceProblem: svc.problem } : {}),
    };
    // Drills this target or this lab cannot run at all: not applicable, said so, never a zero.
    const target: DrillTarget | undefined = main.workload
      ? {
          workload: main.workload,
          nodeAccess: session.nodeAccess !== undefined,
          schedulableNodes: session.schedulableNodes,
          ownsNodes: session.ownsNodes,
        }
      : undefined;
    context.unsupported = {};
    for (const drill of DRILLS) {
      const why = target ? drill.unsupported(target) : undefined;
      if (why) context.unsupported[drill.id] = why;
    }
    return main;
  };
  choose();
  if (discovery.objects.length === 0) {
    return {
      context,
      notGradable: {
        reason: 'no-manifests',
        message: 'there are no Kubernetes objects to deploy',
        hint: 'Commit the manifests (for example under k8s/).',
      },
    };
  }

  const redactor = new Redactor();
  let healthy = false;
  try {
    try {
      if (config.target.type === 'kind' && deps.clusterPool) {
        const lease = await deps.clusterPool.take(config as KindConfig, { signal, progress });
        if (lease) {
          session = createWarmSession(config as KindConfig, sessionDeps, lease);
          context.target = session.description;
        }
      }
      await session.setUp(progress);
    } catch (err) {
      if (err instanceof CommandNotFoundError) {
        throw new NotGradableError('cluster-unavailable', err.message, {
          hint: 'Install it (or set LABGRADER_KIND / LABGRADER_KUBECTL / LABGRADER_DOCKER), or grade with --cluster none.',
          cause: err,
        });
      }
      throw err;
    }
    evidence.push(ev('target', session.description));

    // The isolation of the job (see isolation/): the target's own scopes, its guard rails, proven before any apply.
    progress('reading the cluster’s API discovery');
    const scopes = await discoverScopes(session.kubectl);
    // The nodes: where the egress guard goes, and the addresses the Service prober's requests come from.
    const cluster = await session.kubectl.json<NodeList>(['get', 'nodes'], { unrecorded: true });
    plan = planWith(scopes, nodeIpsOf(cluster));
    const main = choose();
    const egressGuard = (podCidrs: readonly string[], nodes: readonly string[], when: string) =>
      ev(
        'egress-guard',
        `the lab's pods (${podCidrs.join(', ')}) may reach other pods and the API server only: packet filter rules in ${nodes.join(', ')}${when} reject connections to the grading machine, 169.254.169.254, other clusters and the node's other ports`,
      );
    if (session.clusterPolicy === 'install') {
      progress('installing labgrader’s admission policies');
      await installClusterPolicy(session.kubectl);
      if (config.isolation.nodeEgressGuard && session.nodeAccess) {
        const nodes = await session.nodes();
        const guard = await installNodeGuard(session.nodeAccess.docker, nodes, cluster);
        evidence.push(egressGuard(guard.podCidrs, nodes, ''));
      }
    } else {
      progress('checking labgrader’s admission policies');
      await checkClusterPolicy(session.kubectl);
      if (session.egressGuard) {
        evidence.push(
          egressGuard(
            session.egressGuard.podCidrs,
            session.egressGuard.nodes,
            ' (installed when the cluster was made)',
          ),
        );
      }
    }
    for (const refused of plan.refused) {
      evidence.push({
        checkId: 'cluster/deploys-ready',
        label: 'not-applied',
        detail: `${refused.subject}: ${refused.reason}`,
        location: refused.location,
      });
    }
    evidence.push(...plan.changes.map(changedEvidence));

    if (config.images.loadLocal && plan.images.length > 0) {
      // Local images loaded, missing ones built from the repository's Dockerfile (images.ts).
      evidence.push(...(await studentImages.provide(session, plan.images, session.loadsImages, progress)));
      evidence.push(...preferImagesInNodes(plan.objects, studentImages.inNodes).map(changedEvidence));
      // Removed from the nodes after the job, but a warm cluster is not trusted with the next student's job.
      if (studentImages.built.length > 0) session.markDirty('it loaded an image built from the repository');
    }

    const deployDeps: DeployDeps = { kubectl: session.kubectl, clock, sleep, redactor, progress };
    progress(`creating ${plan.namespaces.length} namespace${plan.namespaces.length === 1 ? '' : 's'}`);
    const namespaceFailures = await createNamespaces(plan, deployDeps, (ns) => session.registerNamespace(ns));
    if (plan.podSecurity !== 'privileged') {
      evidence.push(
        ev(
          'pod-security',
          `the job's namespaces enforce Pod Security "${plan.podSecurity}" at least (the lab's code is untrusted)`,
        ),
      );
    }
    if (plan.extraNamespaces.length > 0) {
      evidence.push(
        ev('namespaces', `created ${plan.extraNamespaces.join(', ')}, which the manifests use without defining`),
      );
    }
    progress('adding the guard rails of the job’s namespaces');
    await applyGuardrails(session.kubectl, plan.namespaces, job, config.isolation, {
      graderServiceAccount: session.graderServiceAccount,
      sleep,
    });
    const applier = session.kubectl.as(APPLIER_USER, APPLIER);
    if (plan.namespaces[0]) {
      const refusals = await verifyEnforcement(applier, plan.namespaces[0], { clock, sleep, timeoutMs: 30_000 });
      evidence.push(
        ev(
          'isolation',
          `each namespace of the job has a default-deny egress NetworkPolicy (${EGRESS_POLICY}), a ResourceQuota and a LimitRange; the lab's objects are applied as ${APPLIER_USER}, which the cluster refused, when asked first: ${refusals.join('; ')}`,
        ),
      );
    }
    const secrets = secretManifests(plan.secrets, plan.mapping, randomBytes, redactor);
    await createSecrets(secrets, deployDeps);
    for (const secret of plan.secrets) {
      evidence.push({
        checkId: 'cluster/deploys-ready',
        label: 'synthesized-secret',
        detail: `created Secret ${secret.subject} with random values for ${secret.keys.length ? `key${secret.keys.length === 1 ? '' : 's'} ${secret.keys.join(', ')}` : 'no keys'}: the manifests use it but it is created out of band`,
        ...(secret.references[0] ? { location: secret.references[0] } : {}),
      });
    }

    progress(`applying ${plan.objects.length} object${plan.objects.length === 1 ? '' : 's'}`);
    const applyStarted = clock.monotonicMs();
    const applyFailures = [
      ...namespaceFailures,
      ...(await applyObjects(plan.objects, { ...deployDeps, kubectl: applier })),
    ];
    const failedWorkloads = new Set(
      plan.workloads.filter((w) => applyFailures.some((f) => f.object.source === w.source)),
    );
    const waited = await waitForWorkloads(
      plan.workloads,
      config.readyTimeoutSeconds * 1000,
      config.pollIntervalMs,
      deployDeps,
      failedWorkloads,
    );
    const outcomes = waited.workloads;
    await explainUnready(
      outcomes.filter((o) => !failedWorkloads.has(o.planned)),
      deployDeps,
    );
    context.deploy = {
      applied: plan.objects.length + plan.namespaceObjects.length - applyFailures.length,
      applyFailures,
      workloads: outcomes,
      seconds: seconds(clock.monotonicMs() - applyStarted),
      timeoutSeconds: config.readyTimeoutSeconds,
      ...(waited.stoppedWaiting ? { stoppedWaiting: waited.stoppedWaiting } : {}),
    };
    if (waited.stoppedWaiting) {
      evidence.push(
        ev(
          'stopped-waiting',
          `stopped waiting after ${waited.stoppedWaiting.afterSeconds} s: ${waited.stoppedWaiting.reason}`,
        ),
      );
    }
    healthy = applyFailures.length === 0 && outcomes.every((o) => o.ready);

    // The steady state: the Ready workloads are watched from now on, through the drills and at least as long as
    // their slowest liveness probe needs to act; restarts no drill caused are the lab's.
    const readyWorkloads = outcomes.filter((o) => o.ready).map((o) => o.planned);
    const watch =
      readyWorkloads.length > 0
        ? new SteadyWatch(
            {
              kubectl: session.kubectl,
              clock,
              redactor,
              // The kubelet's probe counters through nodes/proxy: only on a cluster labgrader owns (kind); an
              // existing cluster's grader is not given nodes/proxy, a permission that reaches far past metrics.
              ...(session.nodeAccess ? { livenessCounters: kubeletLivenessCounters(session.kubectl) } : {}),
            },
            readyWorkloads,
            steadyWindow(readyWorkloads, config.steadyState),
          )
        : undefined;
    await watch?.start();
    const drillRestarts = (): DrillRestart[] =>
      Object.values(context.drills as Record<string, DrillResult | undefined>).flatMap(
        (d) => d?.restartedContainers ?? [],
      );

    const workload = main.workload;
    const mainOutcome = outcomes.find((o) => o.planned === workload);
    const unsteady = (found: readonly Instability[]) => found.find((i) => i.workload === workload);
    if (workload && !mainOutcome?.ready) {
      context.drillsSkipped = `${workload.subject} never became Ready`;
      const rejected = applyFailures.find((f) => f.object.source === workload.source);
      context.cause = {
        summary: context.drillsSkipped,
        reportedBy: 'cluster/deploys-ready',
        location:
          mainOutcome?.diagnoses[0]?.location ??
          rejected?.object.source.startLocation() ??
          workload.source.startLocation(),
      };
    } else if (workload) {
      const prober = await makeProber(session, context, config, clock, sleep, randomHex);
      if (prober) {
        progress(`probing ${context.main.service?.subject}`);
        context.baseline = await probeBaseline(
          prober,
          config.probe.answerTimeoutSeconds * 1000,
          clock,
          sleep,
          await serviceDiagnoser(session, context, redactor),
        );
      }
      const service = context.main.service;
      if (context.baseline && !context.baseline.answered && service) {
        // Nothing was served: what the drills would measure (recovery, answers during them) means nothing.
        context.drillsSkipped = `${service.subject} never answered`;
        context.cause = {
          summary: context.drillsSkipped,
          reportedBy: 'cluster/service-availability',
          location: context.baseline.diagnosis?.location ?? service.source.startLocation(),
        };
      } else {
        const drillContext: DrillContext = {
          config,
          nodes: await session.nodes(),
          kubectl: session.kubectl,
          workload,
          ...(prober ? { prober } : {}),
          ...(session.nodeAccess ? { nodeAccess: session.nodeAccess } : {}),
          clock,
          sleep,
          transcript,
          redactor,
          progress,
        };
        for (const drill of run) {
          throwIfAborted(signal);
          const settings = config.drills[drill.settingsKey as keyof typeof config.drills];
          const unsupported = context.unsupported[drill.id];
          if (unsupported) {
            setDrill(context, drill.id, notRun(drill.id, 'unsupported', unsupported, settings.timeoutSeconds));
            continue;
          }
          // A workload that restarts by itself makes every drill's measurement meaningless: stop drilling it.
          // (The watch and a first look at whether the workload settled are asked at once.)
          const terminating = drill.startsBesideTerminatingPods ? 'allowed' : 'gone';
          const [found, steadyNow] = await Promise.all([
            watch?.check(drillRestarts()),
            isSteady(drillContext, terminating),
          ]);
          if (found && unsteady(found)) break;
          if (!steadyNow && !(await settle(drillContext, watch, drillRestarts, unsteady, terminating))) {
            if (watch && unsteady(await watch.check(drillRestarts()))) break;
            const reason = `${workload.subject} did not settle back to all pods Ready before the drill`;
            setDrill(context, drill.id, notRun(drill.id, 'not-run', reason, settings.timeoutSeconds));
            continue;
          }
          const run = drill.run as (c: DrillContext, s: typeof settings) => Promise<DrillResult>;
          if (drill.changesClusterState) session.markDirty(drill.changesClusterState);
          setDrill(context, drill.id, await run(drillContext, settings));
        }
      }
      // Watched until the liveness probes have acted (steady.ts), whatever the drills took.
      if (watch && !unsteady(await watch.check(drillRestarts())) && watch.remainingMs() > 0) {
        progress(
          `watching the Ready pods for up to ${Math.ceil(watch.remainingMs() / 1000)} s more (${watch.describeWindow()})`,
        );
        while (watch.remainingMs() > 0) {
          throwIfAborted(signal);
          await sleep(Math.min(STEADY_POLL_MS, watch.remainingMs()));
          if (unsteady(await watch.check(drillRestarts()))) break;
        }
      }
    }
    if (watch) {
      const logs = async (pod: string, namespace: string, container: string) => {
        const r = await session.kubectl.run(['-n', namespace, 'logs', pod, '-c', container, '--previous', '--tail=5'], {
          sensitive: true,
        });
        return r.exitCode === 0 && r.stdout.trim() ? redactor.redact(r.stdout.trim()) : undefined;
      };
      const found = await watch.check(drillRestarts(), logs);
      for (const instability of found) {
        const outcome = outcomes.find((o) => o.planned === instability.workload);
        if (!outcome) continue;
        outcome.afterReady = instability.diagnoses;
        outcome.restartsAfterReady = instability.restarts;
      }
      context.steady = {
        watchedSeconds: watch.watchedSeconds(),
        windowSeconds: watch.window.seconds,
        because: watch.describeWindow(),
        until: watch.window.until,
      };
      evidence.push(
        ev(
          'steady-state',
          `watched the Ready workloads for ${watch.watchedSeconds()} s after they were Ready, the drills included (${watch.describeWindow()}): ${
            found.length === 0
              ? 'no container restarted by itself'
              : found
                  .map(
                    (i) => `${i.workload.subject} restarted ${i.restarts} time${i.restarts === 1 ? '' : 's'} by itself`,
                  )
                  .join('; ')
          }`,
        ),
      );
      const own = unsteady(found);
      if (own && workload && !context.cause) {
        context.cause = {
          summary: `${workload.subject} restarted ${own.restarts} time${own.restarts === 1 ? '' : 's'} by itself after it was Ready${own.diagnoses[0] ? ` (${own.diagnoses[0].reason})` : ''}`,
          reportedBy: 'cluster/deploys-ready',
          ...(own.diagnoses[0] ? { location: own.diagnoses[0].location } : {}),
        };
      }
      if (found.length > 0) healthy = false;
    }
    // The cause, when the rubric does not grade the check that reports it (see cause.ts).
    const unreported = await unreportedCause(context, input.checks);
    if (unreported) evidence.push(...unreported.evidence);
    return { context, evidence, ...(unreported ? { findings: unreported.findings } : {}) };
  } finally {
    // Before the cluster goes: a warm cluster must not keep this job's build for the next one.
    const removed = await studentImages.remove(session);
    if (removed) evidence.push(ev('images-removed', removed));
    const report = await session.tearDown({ keep: config.target.keepOnFailure && !healthy, progress });
    evidence.push(ev('cleanup', report.detail));
    if (report.ok) logger.info('cluster stage cleaned up', { detail: report.detail });
    else logger.error('cluster stage cleanup incomplete', { detail: report.detail });
  }
}

export function createClusterStage(deps: ClusterStageDeps = {}): GradingStage<ClusterSettings, ClusterContext> {
  return {
    name: 'cluster',
    settingsSchema: clusterSettingsSchema,
    registry: clusterRegistry,
    prepare: (input) => prepareCluster(input, deps),
    abortGraceMs: CLUSTER_ABORT_GRACE_MS,
  };
}

/** The stage with the process environment, clock and randomness. */
export const clusterStage = createClusterStage();
