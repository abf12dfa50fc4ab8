/**
 * Helpers shared by the cluster checks: recovery-time bands, where to point
 * a finding in the manifests, and drill evidence. Checks are written with
 * core's `defineCheck`; the helpers talk to its reporter.
 */
import type { CheckMeta, CheckReporter, SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import type { PlannedWorkload } from '../plan.js';
import type { DrillResult } from '../drills/common.js';
import { DRILLS } from '../drills/index.js';
import { formatTimeline } from '../drills/observe.js';
import type { Band, ScenarioName } from '../settings.js';

export const DEFAULT_BANDS: Band[] = [
  { maxSeconds: 30, credit: 1 },
  { maxSeconds: 90, credit: 0.5 },
];

/** The credit of a recovery time: the first band it falls in, else 0. */
export function bandCredit(bands: readonly Band[], recoverySeconds: number): { credit: number; band?: Band } {
  const band = bands.find((b) => recoverySeconds <= b.maxSeconds);
  return band ? { credit: band.credit, band } : { credit: 0 };
}

export function describeBand(bands: readonly Band[], recoverySeconds: number): string {
  const { credit, band } = bandCredit(bands, recoverySeconds);
  if (!band) return `slower than every band (≤ ${bands[bands.length - 1]!.maxSeconds} s): no credit`;
  return `≤ ${band.maxSeconds} s band: ${credit === 1 ? 'full credit' : `${Math.round(credit * 100)}% credit`}`;
}

/** Where the workload starts in the manifests. */
export function workloadLocation(workload: PlannedWorkload): SourceLocation {
  return workload.source.startLocation();
}

/** The main container's field, if the manifest sets it; else the container; else the workload. */
export function containerField(workload: PlannedWorkload, field: string): SourceLocation {
  const container = workload.workload.containers[0];
  if (!container) return workloadLocation(workload);
  if (container.value[field] !== undefined) return workload.source.locate([...container.path, field], 'key');
  return workload.source.locate([...container.path, 'name'], 'key');
}

/** `spec.replicas` (or the workload) when it runs one replica; else the rolling-update knob. */
export function availabilityLocation(workload: PlannedWorkload, desired: number | undefined): SourceLocation {
  const source = workload.source;
  if ((desired ?? workload.workload.replicas ?? 1) < 2) {
    return source.get(['spec', 'replicas']) !== undefined
      ? source.locate(['spec', 'replicas'], 'value')
      : workloadLocation(workload);
  }
  if (source.get(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable']) !== undefined)
    return source.locate(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable'], 'value');
  if (source.get(['spec', 'strategy']) !== undefined) return source.locate(['spec', 'strategy'], 'key');
  return workloadLocation(workload);
}

/**
 * Evidence lines for one drill: what was done and seen, its timeline (what
 * it saw, from the moment the fault was injected: the dashboard draws it),
 * the commands, the events.
 */
export function drillEvidence(reporter: CheckReporter, drill: DrillResult, location?: SourceLocation): void {
  reporter.evidence(drill.scenario, drill.narrative, location);
  if (drill.recoverySeconds !== undefined)
    reporter.evidence('recovery-time', `${drill.recoverySeconds} s (${drill.scenario})`, location);
  if (drill.timeline?.length) reporter.evidence('timeline', formatTimeline(drill.timeline), location);
  if (drill.commands.length > 0) {
    reporter.evidence(
      'commands',
      drill.commands.map((c) => `+${(c.atMs / 1000).toFixed(1)}s ${c.display} → ${c.exitCode}`).join('\n'),
    );
  }
  if (drill.events.length > 0) reporter.evidence('events', drill.events.join('\n'));
  if (drill.probe) {
    reporter.evidence(
      'service-probe',
      `${drill.probe.ok}/${drill.probe.total} requests answered (${Math.round(drill.probe.ratio * 1000) / 10}%) via ${drill.probe.via}`,
    );
  }
}

/**
 * Reports the outcome of a check whose drill has no result: turned off by the
 * rubric's settings (not applicable, said so), could not run because of the
 * lab (no credit on every one of `subjects`, with the reason), or a labgrader
 * bug. Returns false when the drill is not missing for one of those reasons.
 */
export function missingDrill(
  check: CheckMeta,
  context: ClusterContext,
  scenario: ScenarioName,
  reporter: CheckReporter,
  subjects: (subject: string) => readonly string[] = (subject) => [subject],
): boolean {
  const unsupported = context.unsupported[scenario];
  if (unsupported) {
    reporter.report({
      severity: 'info',
      message: `The ${scenario} drill cannot run here: ${unsupported}; ${check.id} was not graded.`,
      subject: scenario,
    });
    return true;
  }
  if (context.disabled.includes(scenario)) {
    reporter.report({
      severity: 'info',
      message: `The ${scenario} drill is turned off by the rubric's cluster settings (run: never), so ${check.id} was not graded.`,
      subject: scenario,
    });
    return true;
  }
  if (notMeaningful(context, subjects(context.main.workload?.subject ?? scenario), reporter)) return true;
  const workload = context.main.workload;
  const reason = context.drillsSkipped ?? context.main.workloadProblem;
  if (reason) {
    const location = workload ? workloadLocation(workload) : context.plan.objects[0]?.source.startLocation();
    const subject = workload?.subject ?? scenario;
    const examined = subjects(subject);
    for (const s of examined) reporter.examine(s);
    reporter.report({
      message: `The ${scenario} drill could not run: ${reason}.`,
      ...(location ? { location } : {}),
      subject,
      alsoFails: examined,
    });
    reporter.credit(0);
    reporter.summary(`not run (${reason})`);
    return true;
  }
  return false;
}

/** `cluster/deploys-ready at k8s/deployment.yaml:50`: where the cause is reported. */
export function describeCause(context: ClusterContext): string {
  const cause = context.cause;
  if (!cause) return '';
  const at = cause.location ? ` at ${cause.location.file}:${cause.location.line}` : '';
  return `${cause.summary}; the cause is reported once, by ${cause.reportedBy}${at}`;
}

/**
 * One cause, one finding. When the lab's own failure (`context.cause`: a
 * workload that never became Ready, a Service that never answered, pods that
 * restart by themselves) makes what a drill measured meaningless, the check
 * examines its subjects and gives no credit, with the reason in its summary
 * and evidence, and no finding of its own: the cause is reported once, by
 * the check that names it, at its line. Returns false when there is no such
 * cause.
 */
export function notMeaningful(
  context: ClusterContext,
  subjects: readonly string[],
  reporter: CheckReporter,
  drill?: DrillResult,
): boolean {
  const cause = context.cause;
  if (!cause) return false;
  for (const s of subjects) reporter.examine(s);
  if (drill) drillEvidence(reporter, drill, cause.location);
  reporter.evidence('not-meaningful', `not graded on its measurements: ${describeCause(context)}`, cause.location);
  reporter.credit(0);
  reporter.summary(`not meaningful, no credit (${describeCause(context)})`);
  return true;
}

export function seconds(n: number): string {
  return `${n} s`;
}

/**
 * Reports a drill that did not complete: `unsupported` (this target cannot
 * run it: info, not graded) or `not-run` (the lab kept it from starting: no
 * credit on any of `subjects`). Returns false when the drill completed and is
 * to be graded.
 */
export function drillDidNotRun(
  check: CheckMeta,
  drill: DrillResult,
  workload: PlannedWorkload,
  reporter: CheckReporter,
  options: { scenario: string; subjects: readonly string[]; locateUnsupported?: boolean },
): boolean {
  if (drill.status === 'unsupported') {
    reporter.report({
      severity: 'info',
      message: `The ${options.scenario} drill cannot run here: ${drill.reason}; ${check.id} was not graded.`,
      ...(options.locateUnsupported ? { location: workloadLocation(workload) } : {}),
      subject: workload.subject,
    });
    return true;
  }
  if (drill.status === 'not-run') {
    for (const s of options.subjects) reporter.examine(s);
    reporter.report({
      message: `The ${options.scenario} drill could not run: ${drill.reason}.`,
      location: workloadLocation(workload),
      subject: workload.subject,
      alsoFails: options.subjects,
    });
    reporter.credit(0);
    reporter.summary(`not run (${drill.reason})`);
    return true;
  }
  return false;
}

/**
 * Grades a recovery drill (pod kill, container kill) with recovery-time
 * bands: one subject, credit from the band the measured time falls in.
 */
export function gradeRecovery(
  check: CheckMeta,
  context: ClusterContext,
  drill: DrillResult | undefined,
  bands: readonly Band[],
  what: string,
  slowHint: (workload: PlannedWorkload) => SourceLocation,
  reporter: CheckReporter,
): void {
  // The drill this check grades, from the registry (each drill names the checks that grade it).
  const scenario = DRILLS.find((d) => d.gradedBy.includes(check.id))?.id;
  if (!scenario) throw new Error(`no drill is graded by ${check.id}`);
  const workload = context.main.workload;
  if (!drill || !workload) {
    if (missingDrill(check, context, scenario, reporter)) return;
    throw new Error(`the ${scenario} drill did not run although ${check.id} is configured`);
  }
  if (drill.status !== 'unsupported' && notMeaningful(context, [workload.subject], reporter, drill)) return;
  const location = slowHint(workload);
  drillEvidence(reporter, drill, location);
  if (drillDidNotRun(check, drill, workload, reporter, { scenario, subjects: [workload.subject] })) return;
  reporter.examine(workload.subject);
  if (drill.recoverySeconds === undefined) {
    const lastEvent = drill.events[drill.events.length - 1];
    reporter.report({
      message: `After ${what}, ${workload.subject} did not recover within ${drill.timeoutSeconds} s${lastEvent ? ` (last event: ${lastEvent})` : ''}.`,
      location,
      subject: workload.subject,
    });
    reporter.credit(0);
    reporter.summary(`did not recover within ${drill.timeoutSeconds} s`);
    return;
  }
  const { credit } = bandCredit(bands, drill.recoverySeconds);
  if (credit < 1) {
    reporter.report({
      severity: credit > 0 ? 'warning' : check.severity,
      message: `After ${what}, ${workload.subject} took ${drill.recoverySeconds} s to be Ready again (${describeBand(bands, drill.recoverySeconds)}; full credit within ${bands[0]!.maxSeconds} s).`,
      location,
      subject: workload.subject,
    });
  }
  reporter.credit(credit);
  reporter.summary(`recovered in ${drill.recoverySeconds} s (${describeBand(bands, drill.recoverySeconds)})`);
}

/** A ratio as a percentage with one decimal (`0.873` → `87.3%`). */
export function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}
