/**
 * What the cluster stage's checks read: the plan (for manifest locations),
 * what happened when deploying, and each drill's measurements. The checks
 * only grade; everything was measured in `prepare`, and the cluster is gone
 * by the time they run.
 */
import type { DeployOutcome } from './deploy.js';
import type { DeployPlan, PlannedService, PlannedWorkload } from './plan.js';
import type { ProbeSummary } from './probe.js';
import type { BadRolloutResult } from './scenarios/bad-rollout.js';
import type { ContainerKillResult } from './scenarios/container-kill.js';
import type { PodKillResult } from './scenarios/pod-kill.js';
import type { ScenarioName } from './settings.js';

export interface BaselineResult {
  /** Whether the Service answered once the workloads were Ready. */
  answered: boolean;
  afterSeconds: number;
  attempts: number;
  /** The last failure, when it never answered. */
  lastFailure?: string;
  via: string;
  probe?: ProbeSummary;
}

export interface ClusterContext {
  /** Where it ran (`kind cluster labgrader-3fa9c2 (node image …)`). */
  target: string;
  plan: DeployPlan;
  deploy: DeployOutcome;
  main: {
    workload?: PlannedWorkload;
    /** Why there is no workload to drill. */
    workloadProblem?: string;
    service?: PlannedService;
    serviceProblem?: string;
  };
  baseline?: BaselineResult;
  drills: {
    'pod-kill'?: PodKillResult;
    'container-kill'?: ContainerKillResult;
    'bad-rollout'?: BadRolloutResult;
  };
  /** Drills the rubric's settings turned off (`run: never`) although a check grades them. */
  disabled: ScenarioName[];
  /** Drills this target or this lab cannot run at all, with the reason (not applicable, not a zero). */
  unsupported: Partial<Record<ScenarioName, string>>;
  /** Why the drills did not run at all (e.g. the workload never became Ready). */
  drillsSkipped?: string;
}
