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
  CheckRegistry,
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
import { CLUSTER_CHECKS } from './checks/index.js';
import { serviceAvailabilityOptions } from './checks/service-availability.js';
import { Transcript, realSleep } from './commands.js';
import { resolveClusterConfig, type ClusterConfig, type Env, type ExistingTarget, type KindTarget } from './config.js';
import type { BaselineResult, ClusterContext } from './context.js';
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
import { buildPlan, mainService, mainWorkload } from './plan.js';
import { apiProxyProber, nodeProber, type ServiceProber } from './probe.js';
import { runBadRollout } from './scenarios/bad-rollout.js';
import { notRun, seconds, waitSteady, type DrillContext } from './scenarios/common.js';
import { runContainerKill } from './scenarios/container-kill.js';
import { runPodKill } from './scenarios/pod-kill.js';
import { Redactor, secretManifests } from './secrets.js';
import { SCENARIOS, clusterSettingsSchema, type ClusterSettings, type ScenarioName } from './settings.js';
import { createExistingSession, createKindSession, type TargetSession } from './target.js';

export const clusterRegistry = new CheckRegistry<ClusterContext>('cluster', CLUSTER_CHECKS);

export interface ClusterStageDeps {
  /** The grading machine's environment (LABGRADER_KIND…); default: process.env, read at each run. */
  env?: Env;
  clock?: Clock;
  /** Abortable pause; tests advance a fake clock instead. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  randomBytes?: (n: number) => Uint8Array;
  /** Private directory for the kind kubeconfig. */
  makeTempDir?: () => Promise<string>;
}

const SCENARIO_SETTING: Record<ScenarioName, 'podKill' | 'containerKill' | 'badRollout'> = {
  'pod-kill': 'podKill',
  'container-kill': 'containerKill',
  'bad-rollout': 'badRollout',
};

/** How long the pipeline waits, after a time-out, for the stage to delete what it created. */
export const CLUSTER_ABORT_GRACE_MS = 200_000;

/**
 * Which drills to run: `always`, never `never`, and on `auto` those a
 * configured check grades (every drill when the caller does not say which
 * checks are configured).
 */
export function drillsToRun(
  settings: ClusterSettings,
  checks: readonly ConfiguredCheck[] | undefined,
): { run: ScenarioName[]; disabled: ScenarioName[] } {
  const needed = new Set<ScenarioName>(checks ? [] : SCENARIOS);
  for (const check of checks ?? []) {
    if (check.id === 'cluster/pod-kill-recovery') needed.add('pod-kill');
    if (check.id === 'cluster/container-kill-recovery') needed.add('container-kill');
    if (check.id === 'cluster/rollout-undo') needed.add('bad-rollout');
    if (check.id === 'cluster/service-availability') {
      const parsed = serviceAvailabilityOptions.safeParse(check.options ?? {});
      for (const s of parsed.success ? parsed.data.during : SCENARIOS) needed.add(s);
    }
  }
  const run: ScenarioName[] = [];
  const disabled: ScenarioName[] = [];
  for (const scenario of SCENARIOS) {
    const when = settings.scenarios[SCENARIO_SETTING[scenario]].run;
    if (when === 'always' || (when === 'auto' && needed.has(scenario))) run.push(scenario);
    else if (when === 'never' && needed.has(scenario)) disabled.push(scenario);
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

/** Asks the Service once a second until it answers (it may take kube-proxy a moment to program it). */
async function probeBaseline(
  prober: ServiceProber,
  timeoutMs: number,
  clock: Clock,
  sleep: (ms: number) => Promise<void>,
): Promise<BaselineResult> {
  const started = clock.monotonicMs();
  let attempts = 0;
  let lastFailure: string | undefined;
  for (;;) {
    attempts += 1;
    const sample = await prober.once();
    const afterSeconds = seconds(clock.monotonicMs() - started);
    if (sample.ok) return { answered: true, afterSeconds, attempts, via: prober.via };
    lastFailure = sample.detail;
    if (clock.monotonicMs() - started >= timeoutMs) {
      return { answered: false, afterSeconds, attempts, via: prober.via, ...(lastFailure ? { lastFailure } : {}) };
    }
    await sleep(1000);
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
  };
  const session =
    config.target.type === 'kind'
      ? createKindSession(config as ClusterConfig & { target: KindTarget }, sessionDeps)
      : createExistingSession(config as ClusterConfig & { target: ExistingTarget }, sessionDeps);
  const planWith = (scopes?: ApiScopes) =>
    buildPlan(discovery.objects, {
      mapping: session.mapping,
      ...(config.workload ? { workload: config.workload } : {}),
      ...(config.service ? { service: config.service } : {}),
      secrets: config.secrets,
      podSecurity: config.podSecurity,
      isolation: config.isolation,
      ...(scopes ? { scopes } : {}),
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
    context.unsupported = {
      ...(session.nodeAccess
        ? {}
        : {
            'container-kill':
              'this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed',
          }),
      ...(main.workload && main.workload.kind !== 'Deployment'
        ? {
            'bad-rollout': `${main.workload.subject} is a ${main.workload.kind}: the drill uses kubectl rollout undo, which only Deployments support here`,
          }
        : {}),
    };
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
    plan = planWith(scopes);
    const main = choose();
    if (config.target.type === 'kind') {
      progress('installing labgrader’s admission policies');
      await installClusterPolicy(session.kubectl);
      if (config.isolation.nodeEgressGuard && session.nodeAccess) {
        const nodes = await session.nodes();
        const guard = await installNodeGuard(session.kubectl, session.nodeAccess.docker, nodes);
        evidence.push(
          ev(
            'egress-guard',
            `the lab's pods (${guard.podCidrs.join(', ')}) may reach other pods and the API server only: packet filter rules in ${nodes.join(', ')} reject connections to the grading machine, 169.254.169.254, other clusters and the node's other ports`,
          ),
        );
      }
    } else {
      progress('checking labgrader’s admission policies');
      await checkClusterPolicy(session.kubectl);
    }
    for (const refused of plan.refused) {
      evidence.push({
        checkId: 'cluster/deploys-ready',
        label: 'not-applied',
        detail: `${refused.subject}: ${refused.reason}`,
        location: refused.location,
      });
    }
    for (const changed of plan.changes) {
      evidence.push({
        checkId: 'cluster/deploys-ready',
        label: 'changed',
        detail: `${changed.subject}: ${changed.change}`,
        location: changed.location,
      });
    }

    if (config.target.type === 'kind' && config.images.loadLocal && plan.images.length > 0) {
      const images = await session.loadImages(plan.images, progress);
      evidence.push(
        ev(
          'images',
          [
            images.loaded.length ? `loaded from the local Docker daemon: ${images.loaded.join(', ')}` : '',
            images.notLocal.length
              ? `not in the local Docker daemon (left to the node to pull): ${images.notLocal.join(', ')}`
              : '',
          ]
            .filter(Boolean)
            .join('; '),
        ),
      );
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
      graderServiceAccount: session.mapping.mode === 'existing',
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
    const outcomes = await waitForWorkloads(
      plan.workloads,
      config.readyTimeoutSeconds * 1000,
      config.pollIntervalMs,
      deployDeps,
      failedWorkloads,
    );
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
    };
    healthy = applyFailures.length === 0 && outcomes.every((o) => o.ready);

    const workload = main.workload;
    const mainOutcome = outcomes.find((o) => o.planned === workload);
    if (workload && !mainOutcome?.ready) {
      context.drillsSkipped = `${workload.subject} never became Ready`;
    } else if (workload) {
      const prober = await makeProber(session, context, config, clock, sleep, randomHex);
      if (prober) {
        progress(`probing ${context.main.service?.subject}`);
        context.baseline = await probeBaseline(prober, config.probe.answerTimeoutSeconds * 1000, clock, sleep);
      }
      const drillContext: DrillContext = {
        config,
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
      for (const scenario of run) {
        throwIfAborted(signal);
        const timeoutSeconds = config.scenarios[SCENARIO_SETTING[scenario]].timeoutSeconds;
        const unsupported = context.unsupported[scenario];
        if (unsupported) {
          const result = notRun(scenario, 'unsupported', unsupported, timeoutSeconds);
          if (scenario === 'bad-rollout') {
            context.drills['bad-rollout'] = { ...result, badImage: config.scenarios.badRollout.image };
          } else {
            context.drills[scenario] = result;
          }
          continue;
        }
        if (!(await waitSteady(drillContext, 120_000))) {
          const unsettled = notRun(
            scenario,
            'not-run',
            `${workload.subject} did not settle back to all pods Ready before the drill`,
            timeoutSeconds,
          );
          if (scenario === 'bad-rollout') {
            context.drills['bad-rollout'] = { ...unsettled, badImage: config.scenarios.badRollout.image };
          } else {
            context.drills[scenario] = unsettled;
          }
          continue;
        }
        if (scenario === 'pod-kill') context.drills['pod-kill'] = await runPodKill(drillContext);
        else if (scenario === 'container-kill') context.drills['container-kill'] = await runContainerKill(drillContext);
        else context.drills['bad-rollout'] = await runBadRollout(drillContext);
      }
    }
    return { context, evidence };
  } finally {
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
