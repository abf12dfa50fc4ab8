/**
 * One cause, one finding, even when the rubric does not grade the check that
 * reports it. `context.cause` names the check whose finding is the lab's own
 * failure (`cluster/deploys-ready`: a workload never Ready, or restarting by
 * itself; `cluster/service-availability`: a Service that never answered), and
 * every drill check then gives no credit and points there instead of
 * reporting it again. A rubric without that check (one that grades only node
 * drills, say) would show "not meaningful" everywhere and the cause nowhere:
 * so the stage runs that check on the same measurements and reports its
 * findings about the cause as findings of the stage, which no criterion owns
 * (they cost no points of their own: the drills' checks already give none).
 */
import type { ConfiguredCheck, Evidence, Finding } from '@labgrader/core';
import type { ClusterContext } from './context.js';
import { clusterRegistry } from './registry.js';

export interface UnreportedCause {
  findings: Finding[];
  evidence: Evidence[];
}

const sameLine = (f: Finding, at: Finding['location']) =>
  at !== undefined && f.location?.file === at.file && f.location.line === at.line;

/**
 * The cause's findings, when `context.cause` is set and none of the
 * `configured` checks is the one that reports it; undefined otherwise (also
 * when the caller does not say which checks it runs).
 */
export async function unreportedCause(
  context: ClusterContext,
  configured: readonly ConfiguredCheck[] | undefined,
): Promise<UnreportedCause | undefined> {
  const cause = context.cause;
  if (!cause || !configured || configured.some((c) => c.id === cause.reportedBy)) return undefined;
  const check = clusterRegistry.get(cause.reportedBy);
  let findings: Finding[] = [];
  if (check) {
    const outcome = await check.check(context, check.options.parse({}));
    const counted = outcome.findings.filter((f) => f.severity !== 'info');
    // What it says at the cause's line, and whatever else it says about the same subject (one per cause).
    const subjects = new Set(counted.filter((f) => sameLine(f, cause.location)).map((f) => f.subject));
    findings = counted.filter((f) => sameLine(f, cause.location) || (f.subject && subjects.has(f.subject)));
    if (findings.length === 0) findings = counted;
  }
  if (findings.length === 0) {
    findings = [
      {
        checkId: cause.reportedBy,
        severity: check?.severity ?? 'error',
        message: `${cause.summary}.`,
        ...(cause.location ? { location: cause.location } : {}),
      },
    ];
  }
  return {
    findings,
    evidence: [
      {
        // The stage's own evidence is recorded under cluster/deploys-ready (stage.ts).
        checkId: 'cluster/deploys-ready',
        label: 'root-cause',
        detail: `${cause.summary}: reported by ${cause.reportedBy}, which this rubric does not grade, so the stage reports it (no criterion, no points of its own); the drills' checks give no credit because of it`,
        ...(cause.location ? { location: cause.location } : {}),
      },
    ],
  };
}
