/**
 * The pod-kill and container-kill drills through the real stage against the
 * scripted kind cluster (scripted-cluster.ts), graded by their real checks:
 * the drill results, and the evidence the checks record for the report, as
 * a grading would store it. Used by the drill tests and by the dashboard's
 * timeline tests (which have no cluster).
 */
import path from 'node:path';
import type { CheckOutcome, Evidence } from '@labgrader/core';
import { clusterRegistry, prepareCluster } from '../../src/index.js';
import type { ClusterContext } from '../../src/context.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput } from './fake.js';
import { scriptKindCluster, type Script } from './scripted-cluster.js';

/** Node probe loop output: `ok` answered requests 250 ms apart, then `refused` refused ones. */
export function probeLines(ok: number, refused = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < ok + refused; i++) lines.push(`${1_000_000 + i * 250} ${i < ok ? '0 200' : '7 000'}`);
  return lines.join('\n') + '\n';
}

export const RECOVERY_SCRIPT: Script = {
  replicas: 3,
  readyAfterMs: 4_000,
  // The deleted pod is gone 3 s after the delete; its replacement is Ready after 1.8 s.
  podKill: { readyAfterMs: 1_800, goneAfterMs: 3_000 },
  // The killed container is restarted at once, and Ready again 2.3 s after the kill.
  containerKill: { readyAfterMs: 2_300 },
  rollout: { minReady: 2, undoReadyAfterMs: 1_200 },
  probeOutputs: [probeLines(19, 1), probeLines(8, 2)],
};

const CHECKS = ['cluster/pod-kill-recovery', 'cluster/container-kill-recovery'] as const;

export interface RecoveryDrillsRun {
  context: ClusterContext;
  graded: Record<(typeof CHECKS)[number], CheckOutcome>;
  /** Every check's evidence, in rubric order, as the report stores it. */
  evidence: Evidence[];
  runner: FakeRunner;
}

export async function runRecoveryDrills(script: Script = RECOVERY_SCRIPT): Promise<RecoveryDrillsRun> {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  scriptKindCluster(runner, clock, script);
  let n = 0;
  const prep = await prepareCluster(
    stageInput(
      await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
      runner,
      {},
      {
        checks: CHECKS.map((id) => ({ id, options: {} })),
      },
    ),
    {
      env: { LABGRADER_KIND: 'kind', LABGRADER_KUBECTL: 'kubectl' },
      clock,
      sleep: clock.sleep,
      randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 37 + 11) % 256),
    },
  );
  const graded = {} as RecoveryDrillsRun['graded'];
  const evidence: Evidence[] = [];
  for (const id of CHECKS) {
    const check = clusterRegistry.get(id)!;
    graded[id] = await check.check(prep.context, check.options.parse({}));
    evidence.push(...(graded[id].evidence ?? []));
  }
  return { context: prep.context, graded, evidence, runner };
}
