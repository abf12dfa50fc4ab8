/**
 * The warm cluster pool against a real kind cluster (the offline node image),
 * through the path a worker job takes (gradeSource with createBuiltinStages
 * and the execa runner): the pool makes one cluster, two submissions are
 * graded in it one after the other, each in namespaces of its own, each with
 * full marks and measured drills; between them the first job's pods are
 * proven gone (its namespaces go in the background, and are gone soon after),
 * and closing the pool deletes the cluster with every container.
 *
 * Runs only where the offline node image and a Docker engine are present
 * (.ci/run prepares them); otherwise it says so loudly and is skipped.
 * Nothing here is timed: durations are printed, never asserted.
 */
import { expect, it } from '@jest/globals';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBuiltinStages, loadRubric } from '@labgrader/builtin';
import { planClusterStage } from '@labgrader/builtin/cluster-plan';
import type { Logger, Report } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { clusterSettingsSchema, createKindClusterPool, resolveClusterConfig, type KindConfig } from '../src/index.js';
import {
  KIND,
  KIND_ENV,
  KUBECTL,
  ROOT,
  evidence,
  kindClusterContainers,
  real,
  run,
  work,
} from './helpers/real-cluster.js';

/** The pool's warnings and errors, printed: what went wrong with a cluster is then in the test's output. */
const printing: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => console.warn(`pool: ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => console.error(`pool: ${message} ${JSON.stringify(fields ?? {})}`),
  child: () => printing,
};

real('warm cluster pool on a real kind cluster', () => {
  it('grades two submissions in one warm cluster, each in namespaces of its own, and deletes it on close', async () => {
    const runner = createExecaRunner();
    const env = { ...process.env, ...KIND_ENV };
    const planned = await planClusterStage({
      mode: 'kind',
      rubric: await loadRubric('lab-85', ROOT),
      runner,
      env,
      caller: 'cli',
    });
    const pool = createKindClusterPool({
      size: 1,
      maxJobsPerCluster: 5,
      runner,
      logger: printing,
      namePrefix: 'lgt-warm',
    });
    const stages = createBuiltinStages({ env, clusterPool: pool });
    const gradeCopy = async (name: string): Promise<{ report: Report; seconds: number }> => {
      const dir = path.join(work, name);
      cpSync(path.join(ROOT, 'examples/lab-85-passing'), dir, { recursive: true });
      const t0 = performance.now();
      const report = await gradeSource(
        { kind: 'directory', path: dir },
        { rubric: planned.rubric, skip: planned.skip },
        { runner, stages },
      );
      return { report, seconds: (performance.now() - t0) / 1000 };
    };
    try {
      const t0 = performance.now();
      // The pool learns the shape from the first job; a worker prewarms at start-up.
      const settings = planned.rubric.stages.cluster.settings;
      const config = resolveClusterConfig(clusterSettingsSchema.parse(settings), env);
      if (config.target.type !== 'kind') throw new Error('lab-85 should grade on kind here');
      pool.prewarm(config as KindConfig);
      await pool.idle();
      console.log(`warm pool: one cluster made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(pool.stats()).toMatchObject({ ready: 1, created: 1 });

      const first = await gradeCopy('warm-1');
      const second = await gradeCopy('warm-2');
      console.log(`warm gradings: ${first.seconds.toFixed(1)} s, ${second.seconds.toFixed(1)} s end to end`);
      const clusterOf = (r: Report) =>
        /in the warm kind cluster (lgt-warm-[0-9a-f]{6}) \(job (\d)/.exec(evidence(r, 'target')[0] ?? '');
      const [, cluster1, job1] = clusterOf(first.report) ?? [];
      const [, cluster2, job2] = clusterOf(second.report) ?? [];
      expect([cluster1, job1, job2]).toEqual([expect.stringMatching(/^lgt-warm-/), '1', '2']);
      expect(cluster2).toBe(cluster1);
      for (const { report } of [first, second]) {
        expect(report.status).toBe('graded');
        expect(report.findings).toEqual([]);
        expect(report.score).toMatchObject({ points: 100, maxPoints: 100 });
        const recoveries = evidence(report, 'recovery-time');
        expect(recoveries.map((r) => r.replace(/^[\d.]+ s /, ''))).toEqual([
          '(pod-kill)',
          '(container-kill)',
          '(bad-rollout)',
        ]);
        expect(evidence(report, 'egress-guard')[0]).toMatch(/installed when the cluster was made/);
      }
      // Each job had namespaces of its own.
      const ns = (r: Report) => /namespaces (lg-([0-9a-f]{6})-)\*/.exec(evidence(r, 'target')[0] ?? '')?.[2];
      expect(ns(first.report)).not.toBe(ns(second.report));
      // Back in the pool: no pod of a job is left, and the jobs' namespaces are going (or gone) in the background.
      await pool.idle();
      expect(pool.stats()).toMatchObject({ ready: 1, busy: 0, hits: 2 });
      const kubeconfig = path.join(work, 'warm-kubeconfig');
      const kc = run(KIND, ['get', 'kubeconfig', '--name', cluster1!]);
      expect(kc.status).toBe(0);
      writeFileSync(kubeconfig, kc.stdout, { mode: 0o600 });
      const kubectl = (...args: string[]) => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args]);
      const pods = kubectl('get', 'pods', '--all-namespaces', '-o', 'jsonpath={.items[*].metadata.namespace}');
      expect(pods.status).toBe(0);
      expect(pods.stdout.split(/\s+/).filter((n) => n.startsWith('lg-'))).toEqual([]);
      const going = kubectl('get', 'namespaces', '-l', 'labgrader.dev/job', '-o', 'jsonpath={.items[*].status.phase}');
      expect(going.status).toBe(0);
      expect(going.stdout.split(/\s+/).filter((phase) => phase && phase !== 'Terminating')).toEqual([]);
      const t1 = performance.now();
      let left = going.stdout.trim();
      while (left && performance.now() - t1 < 120_000) {
        await new Promise((r) => setTimeout(r, 1_000));
        left = kubectl('get', 'namespaces', '-l', 'labgrader.dev/job', '-o', 'name').stdout.trim();
      }
      console.log(
        `the jobs' namespaces were gone ${((performance.now() - t1) / 1000).toFixed(1)} s after the pool was idle`,
      );
      expect(left).toBe('');
    } finally {
      await pool.close();
    }
    expect(
      run(KIND, ['get', 'clusters'])
        .stdout.split('\n')
        .filter((c) => c.startsWith('lgt-warm-')),
    ).toEqual([]);
    expect(kindClusterContainers().filter((c) => c.startsWith('lgt-warm-'))).toEqual([]);
  }, 900_000);
});
