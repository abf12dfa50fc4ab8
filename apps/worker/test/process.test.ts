/**
 * The worker as an operator runs it: a real `labgrader-worker` process (its
 * TypeScript sources through test/support/ts-loader.mjs), real signals, real
 * child processes. `git` is a wrapper script first on PATH that records its
 * pid and then sleeps before running the real git (a slow clone), or hangs
 * (`exec sleep`, a clone that never ends), so a job is caught mid-child-process.
 *
 *  - SIGTERM while a job runs git: the worker finishes the job within the
 *    grace period and exits 0 (before, `process.once` plus execa's
 *    signal-exit re-raised the signal and killed it at once);
 *  - SIGTERM with a hanging git and a short grace period: git is killed, the
 *    job goes back to the queue without using an attempt, exit 0;
 *  - SIGKILL mid-job leaves the workspace and git behind; the next worker's
 *    janitor kills the leftover process and removes the directory at start-up;
 *  - the worker's health endpoint and metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../../test/support/git-fixtures.js';
import { createProcessWorld, type ProcessWorld } from './support/process-world.js';
import type { WorkerProcess } from './support/worker-process.js';

let world: ProcessWorld;
const markers = tempDir('labgrader-proc-markers-');
// One workspace root for every worker here: the next worker's janitor cleans what a killed one left in it.
const workspaces = tempDir('labgrader-proc-ws-');
const bin = tempDir('labgrader-proc-bin-');

const REAL_GIT = ['/usr/bin/git', '/usr/local/bin/git', '/bin/git'].find((p) => existsSync(p))!;

beforeAll(async () => {
  // git, slowed down or hanging: records its pid, then sleeps (a real child process with its cwd in the workspace).
  writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/sh
case " $* " in
  *" fetch "*)
    echo $$ > "${markers}/git-$$"
    if [ "$LG_TEST_GIT_HANG" = 1 ]; then exec sleep 600; fi
    sleep "\${LG_TEST_GIT_SLEEP:-2}"
    ;;
esac
exec ${REAL_GIT} "$@"
`,
  );
  chmodSync(path.join(bin, 'git'), 0o755);
  world = await createProcessWorld('proc');
});

afterAll(async () => {
  try {
    await world.cleanup();
  } finally {
    for (const marker of existsSync(markers) ? readdirSync(markers) : []) {
      try {
        process.kill(Number(readFileSync(path.join(markers, marker), 'utf8')), 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
    for (const dir of [markers, workspaces, bin]) rmSync(dir, { recursive: true, force: true });
  }
});

const startWorker = (env: Record<string, string>): WorkerProcess =>
  world.startWorker('proc', {
    PATH: `${bin}:${process.env.PATH}`,
    CLUSTER_STAGE: 'none',
    WORKSPACE_ROOT: workspaces,
    JOB_LOCK_SECONDS: '5',
    ...env,
  });

async function gitStarted(): Promise<number> {
  for (let i = 0; i < 3000; i++) {
    const found = readdirSync(markers).find((m) => m.startsWith('git-'));
    if (found) {
      const pid = Number(readFileSync(path.join(markers, found), 'utf8'));
      rmSync(path.join(markers, found));
      return pid;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('git never started');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function enqueueLab(): Promise<{ jobId: string; fullName: string; sha: string }> {
  const sub = world.submission('lab85');
  return { jobId: await world.enqueue(sub), fullName: sub.repo.fullName!, sha: sub.sha };
}

describe('the worker process under real signals', () => {
  it('SIGTERM while a job runs git: the job finishes within the grace period, then the worker exits 0', async () => {
    const worker = startWorker({ SHUTDOWN_GRACE_SECONDS: '60', LG_TEST_GIT_SLEEP: '3' });
    await worker.waitFor('health and metrics');
    const { jobId, fullName, sha } = await enqueueLab();
    const gitPid = await gitStarted();
    expect(alive(gitPid)).toBe(true);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'graded', 'stopped']));
    expect(await (await world.producer.queue.getJob(jobId))?.getState()).toBe('completed');
    expect((await world.store.get({ repository: fullName, commit: sha, rubricId: 'lab-85' }))?.status).toBe('graded');
    // Its workspace is gone with it.
    expect(readdirSync(workspaces).flatMap((d) => readdirSync(path.join(workspaces, d)))).toEqual([]);
  });

  it('SIGTERM with git hanging past the grace period: git is killed, the job is requeued without using an attempt', async () => {
    const worker = startWorker({ SHUTDOWN_GRACE_SECONDS: '1', LG_TEST_GIT_HANG: '1' });
    await worker.waitFor('health and metrics');
    const { jobId } = await enqueueLab();
    const gitPid = await gitStarted();
    worker.child.kill('SIGTERM');
    // A second signal during the shutdown is only logged.
    await worker.waitFor('shutting down');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['already shutting down', 'grace period over; aborting jobs in flight', 'stopped']),
    );
    expect(alive(gitPid)).toBe(false);
    const job = await world.producer.queue.getJob(jobId);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    await job?.remove();
  });

  it("SIGKILL mid-job leaves git and the workspace behind; the next worker's janitor removes both at start-up", async () => {
    const killed = startWorker({ LG_TEST_GIT_HANG: '1' });
    await killed.waitFor('health and metrics');
    const { jobId } = await enqueueLab();
    const gitPid = await gitStarted();
    const ownDir = String(killed.lines.find((l) => l.msg === 'starting')!.workspaces);
    killed.child.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    // What a crashed worker leaves: its git, reparented, still running; its workspace on disk.
    expect(alive(gitPid)).toBe(true);
    expect(existsSync(ownDir)).toBe(true);

    const next = startWorker({ LG_TEST_GIT_HANG: '0', LG_TEST_GIT_SLEEP: '0' });
    const cleaned = await next.waitFor('removed what dead or failed jobs left behind');
    expect(cleaned.removedOwners).toEqual([ownDir]);
    expect(cleaned.killed).toEqual(expect.arrayContaining([gitPid]));
    for (let i = 0; i < 100 && alive(gitPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(gitPid)).toBe(false);
    expect(existsSync(ownDir)).toBe(false);

    // The worker's own probes and metrics.
    const { port } = (await next.waitFor('health and metrics')) as { port: number };
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', redis: 'ok', postgres: 'ok' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/labgrader_queue_jobs\{state="active",service="labgrader-worker"\} 1/); // the dead worker's job, until its lock expires
    expect(metrics).toContain(
      'labgrader_errors_total{component="janitor",kind="leftovers",service="labgrader-worker"} 1',
    );
    expect(metrics).toContain('labgrader_process_resident_memory_bytes');

    // The stalled job comes back once its lock (5 s here) expires: the stalled check runs every lock period
    // (BullMQ's 30 s default took 60–90 s, past this test's wait); this worker grades it.
    await next.waitFor('graded', 60_000);
    expect(await (await world.producer.queue.getJob(jobId))?.getState()).toBe('completed');
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  }, 150_000);
});
