/**
 * Helpers shared by the cluster checks: recovery-time bands, where to point
 * a finding in the manifests, and drill evidence.
 */
import type { CheckMeta, CheckOutcome, Evidence, Finding, SourceLocation } from '@labgrader/core';
import type { ClusterContext } from '../context.js';
import type { PlannedWorkload } from '../plan.js';
import type { DrillResult } from '../scenarios/common.js';
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

export function finding(
  check: CheckMeta,
  fields: Omit<Finding, 'checkId' | 'severity'> & { severity?: Finding['severity'] },
): Finding {
  return { checkId: check.id, severity: fields.severity ?? check.severity, ...fields };
}

export function evidence(check: CheckMeta, label: string, detail: string, location?: SourceLocation): Evidence {
  return { checkId: check.id, label, detail, ...(location ? { location } : {}) };
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

/** Evidence lines for one drill: what was done and seen, the commands, the events. */
export function drillEvidence(check: CheckMeta, drill: DrillResult, location?: SourceLocation): Evidence[] {
  const out: Evidence[] = [evidence(check, drill.scenario, drill.narrative, location)];
  if (drill.recoverySeconds !== undefined)
    out.push(evidence(check, 'recovery-time', `${drill.recoverySeconds} s (${drill.scenario})`, location));
  if (drill.commands.length > 0) {
    out.push(
      evidence(
        check,
        'commands',
        drill.commands.map((c) => `+${(c.atMs / 1000).toFixed(1)}s ${c.display} → ${c.exitCode}`).join('\n'),
      ),
    );
  }
  if (drill.events.length > 0) out.push(evidence(check, 'events', drill.events.join('\n')));
  if (drill.probe) {
    out.push(
      evidence(
        check,
        'service-probe',
        `${drill.probe.ok}/${drill.probe.total} requests answered (${Math.round(drill.probe.ratio * 1000) / 10}%) via ${drill.probe.via}`,
      ),
    );
  }
  return out;
}

/**
 * The outcome for a check whose drill has no result: turned off by the
 * rubric's settings (not applicable, said so), could not run because of the
 * lab (no credit, with the reason), or a labgrader bug.
 */
export function missingDrill(
  check: CheckMeta,
  context: ClusterContext,
  scenario: ScenarioName,
): CheckOutcome | undefined {
  const unsupported = context.unsupported[scenario];
  if (unsupported) {
    return {
      findings: [
        finding(check, {
          severity: 'info',
          message: `The ${scenario} drill cannot run here: ${unsupported}; ${check.id} was not graded.`,
          subject: scenario,
        }),
      ],
      examined: 0,
      passed: 0,
    };
  }
  if (context.disabled.includes(scenario)) {
    return {
      findings: [
        finding(check, {
          severity: 'info',
          message: `The ${scenario} drill is turned off by the rubric's cluster settings (run: never), so ${check.id} was not graded.`,
          subject: scenario,
        }),
      ],
      examined: 0,
      passed: 0,
    };
  }
  const workload = context.main.workload;
  const reason = context.drillsSkipped ?? context.main.workloadProblem;
  if (reason) {
    const location = workload ? workloadLocation(workload) : context.plan.objects[0]?.source.startLocation();
    return {
      findings: [
        finding(check, {
          message: `The ${scenario} drill could not run: ${reason}.`,
          ...(location ? { location } : {}),
          subject: workload?.subject ?? scenario,
        }),
      ],
      examined: 1,
      passed: 0,
      score: 0,
      summary: `not run (${reason})`,
    };
  }
  return undefined;
}

export function seconds(n: number): string {
  return `${n} s`;
}

/**
 * The outcome of a drill that did not complete: `unsupported` (this target
 * cannot run it: info, not graded) or `not-run` (the lab kept it from
 * starting: no credit on any of the check's `subjects`). Undefined when the
 * drill completed and is to be graded.
 */
export function drillDidNotRun(
  check: CheckMeta,
  drill: DrillResult,
  workload: PlannedWorkload,
  options: { scenario: string; evidence: CheckOutcome['evidence']; subjects: number; locateUnsupported?: boolean },
): CheckOutcome | undefined {
  if (drill.status === 'unsupported') {
    return {
      findings: [
        finding(check, {
          severity: 'info',
          message: `The ${options.scenario} drill cannot run here: ${drill.reason}; ${check.id} was not graded.`,
          ...(options.locateUnsupported ? { location: workloadLocation(workload) } : {}),
          subject: workload.subject,
        }),
      ],
      evidence: options.evidence,
      examined: 0,
      passed: 0,
    };
  }
  if (drill.status === 'not-run') {
    return {
      findings: [
        finding(check, {
          message: `The ${options.scenario} drill could not run: ${drill.reason}.`,
          location: workloadLocation(workload),
          subject: workload.subject,
        }),
      ],
      evidence: options.evidence,
      examined: options.subjects,
      passed: 0,
      score: 0,
      summary: `not run (${drill.reason})`,
    };
  }
  return undefined;
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
): CheckOutcome {
  const scenario = check.id === 'cluster/pod-kill-recovery' ? 'pod-kill' : 'container-kill';
  const workload = context.main.workload;
  if (!drill || !workload) {
    const missing = missingDrill(check, context, scenario);
    if (missing) return missing;
    throw new Error(`the ${scenario} drill did not run although ${check.id} is configured`);
  }
  const location = slowHint(workload);
  const ev = drillEvidence(check, drill, location);
  const didNotRun = drillDidNotRun(check, drill, workload, { scenario, evidence: ev, subjects: 1 });
  if (didNotRun) return didNotRun;
  if (drill.recoverySeconds === undefined) {
    const lastEvent = drill.events[drill.events.length - 1];
    return {
      findings: [
        finding(check, {
          message: `After ${what}, ${workload.subject} did not recover within ${drill.timeoutSeconds} s${lastEvent ? ` (last event: ${lastEvent})` : ''}.`,
          location,
          subject: workload.subject,
        }),
      ],
      evidence: ev,
      examined: 1,
      passed: 0,
      score: 0,
      summary: `did not recover within ${drill.timeoutSeconds} s`,
    };
  }
  const { credit } = bandCredit(bands, drill.recoverySeconds);
  const findings: Finding[] = [];
  if (credit < 1) {
    findings.push(
      finding(check, {
        severity: credit > 0 ? 'warning' : check.severity,
        message: `After ${what}, ${workload.subject} took ${drill.recoverySeconds} s to be Ready again (${describeBand(bands, drill.recoverySeconds)}; full credit within ${bands[0]!.maxSeconds} s).`,
        location,
        subject: workload.subject,
      }),
    );
  }
  return {
    findings,
    evidence: ev,
    examined: 1,
    passed: credit >= 1 ? 1 : 0,
    score: credit,
    summary: `recovered in ${drill.recoverySeconds} s (${describeBand(bands, drill.recoverySeconds)})`,
  };
}
