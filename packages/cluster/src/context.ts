/**
 * What the cluster stage's checks read: the plan (for manifest locations),
 * what happened when deploying, and each drill's measurements. The checks
 * only grade; everything was measured in `prepare`, and the cluster is gone
 * by the time they run.
 */
import type { SourceLocation } from '@labgrader/core';
import type { DeployOutcome } from './deploy.js';
import type { ServiceDiagnosis } from './diagnose.js';
import type { DeployPlan, PlannedService, PlannedWorkload } from './plan.js';
import type { ProbeSummary } from './probe.js';
import type { DrillId, DrillResults } from './drills/index.js';

export interface BaselineResult {
  /** Whether the Service answered once the workloads were Ready. */
  answered: boolean;
  afterSeconds: number;
  attempts: number;
  /** The last failure, when it never answered. */
  lastFailure?: string;
  via: string;
  probe?: ProbeSummary;
  /** Why it never answered (endpoints, targetPort…), when it did not. */
  diagnosis?: ServiceDiagnosis;
  /** Set when the probing stopped before answerTimeoutSeconds, because waiting could not change the outcome. */
  stoppedWaiting?: string;
}

/**
 * The lab's own failure that makes the drills' measurements meaningless (a
 * workload that never became Ready, a Service that never answered, pods that
 * restart by themselves): reported once, by `reportedBy`, at `location`; the
 * drills' checks give no credit and say why, without another finding.
 */
export interface RootCause {
  /** `Service lab85/web never answered`. */
  summary: string;
  /** The check whose finding is the cause. */
  reportedBy: string;
  location?: SourceLocation;
}

/** What the stage saw while watching the Ready workloads (see steady.ts). */
export interface SteadyStateResult {
  /** Seconds watched after every workload was Ready (the drills included). */
  watchedSeconds: number;
  /** The restart window (what it watches when a liveness probe failed, or always with `until: restart-window`). */
  windowSeconds: number;
  /** Why it watched as long as it did. */
  because: string;
  until: 'liveness-answered' | 'restart-window';
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
  /** What each drill that ran measured (drills/<id>/). */
  drills: DrillResults;
  /** Drills the rubric's settings turned off (`run: never`) although a check grades them. */
  disabled: DrillId[];
  /** Drills this target or this lab cannot run at all, with the reason (not applicable, not a zero). */
  unsupported: Partial<Record<DrillId, string>>;
  /** Why the drills did not run at all (e.g. the workload never became Ready). */
  drillsSkipped?: string;
  /** Why what the drills measured means nothing, when it does not (one cause, reported once). */
  cause?: RootCause;
  /** The watch of the Ready workloads, when there was one. */
  steady?: SteadyStateResult;
}
