/**
 * Drill evidence exactly as the cluster checks record it (packages/cluster's
 * own drillEvidence, completedDrill and formatTimeline, not a copy of their
 * wording): the dashboard tests have no cluster, the timelines are drawn from
 * what a real run would have stored.
 */
import type { CheckReporter, Evidence, Report } from '@labgrader/core';
import { drillEvidence } from '../../../../packages/cluster/src/checks/shared.js';
import { completedDrill } from '../../../../packages/cluster/src/drills/common.js';
import { formatTimeline } from '../../../../packages/cluster/src/drills/observe.js';
import { runRecoveryDrills } from '../../../../packages/cluster/test/helpers/recovery-drills.js';

function recorder(checkId: string, into: Evidence[]): CheckReporter {
  return {
    examine: () => {},
    report: () => {},
    credit: () => {},
    summary: () => {},
    evidence: (label, detail, location) => into.push({ checkId, label, detail, ...(location ? { location } : {}) }),
  };
}

/** A pod-kill drill that recovered in 8.4 s while the Service missed 3 of 60 requests. */
export function podKillEvidence(): Evidence[] {
  const out: Evidence[] = [];
  const drill = completedDrill({
    scenario: 'pod-kill',
    recoveredMs: 8_400,
    timeoutSeconds: 120,
    commands: [
      { display: 'kubectl -n lab85 get deployments.apps/web', exitCode: 0, durationMs: 80, atMs: 51_000 },
      {
        display: 'kubectl -n lab85 delete pod web-7d9f-abcde --wait=false',
        exitCode: 0,
        durationMs: 120,
        atMs: 51_230,
      },
    ],
    events: [
      'Pod web-7d9f-abcde: Killing Stopping container web',
      'ReplicaSet web-7d9f: SuccessfulCreate Created pod: web-7d9f-fghij',
    ],
    probe: {
      via: 'node curl',
      total: 60,
      ok: 57,
      ratio: 0.95,
      longestOutageMs: 2_100,
      firstFailure: 'connection refused',
    },
    narrate: (s) => `deleted pod web-7d9f-abcde; 2/2 pods Ready again after ${s} s (replacement web-7d9f-fghij)`,
  });
  drillEvidence(recorder('cluster/pod-kill-recovery', out), drill, {
    file: 'k8s/deployment.yaml',
    line: 9,
    column: 3,
  });
  return out;
}

/** A readiness-gate drill (a watching drill: its timeline, then its narrative), never Ready again in time. */
export function readinessGateEvidence(): Evidence[] {
  const out: Evidence[] = [];
  const reporter = recorder('cluster/readiness-gate', out);
  reporter.evidence(
    'timeline',
    formatTimeline([
      { atSeconds: 0, event: 'pod web-1 (10.244.1.5, node lab-worker) stops accepting connections' },
      { atSeconds: 10.5, event: 'pod web-1 not Ready: its readiness probe fails' },
      { atSeconds: 40, event: 'fault lifted: connections to pod web-1 are accepted again' },
    ]),
  );
  drillEvidence(
    reporter,
    completedDrill({
      scenario: 'readiness-gate',
      recoveredMs: undefined,
      timeoutSeconds: 60,
      commands: [],
      events: [],
      probe: { via: 'node curl', total: 80, ok: 62, ratio: 0.775, longestOutageMs: 10_400, firstFailure: 'timeout' },
      narrate: () => 'pod web-1 stopped answering; it was not Ready again within 60 s',
    }),
  );
  return out;
}

/**
 * The pod-kill and container-kill drills run for real by the cluster stage
 * against its scripted kind cluster (packages/cluster/test/helpers), graded
 * by their checks: the evidence a grading would store, timelines included.
 */
export async function recoveryDrillsEvidence(): Promise<Evidence[]> {
  return (await runRecoveryDrills()).evidence;
}

/** The report with the cluster stage as if it had run these drills. */
export function withDrills(report: Report): Report {
  return {
    ...report,
    evidence: [...report.evidence, ...podKillEvidence(), ...readinessGateEvidence()],
    stages: report.stages
      .map((s) => (s.name === 'cluster' ? { ...s, status: 'ok' as const, message: undefined } : s))
      .map(({ message, ...s }) => (message === undefined ? s : { ...s, message })),
  };
}
