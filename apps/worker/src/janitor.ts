/**
 * The workspace janitor. A worker killed mid-job (SIGKILL, OOM, a node lost)
 * leaves its clone on disk and its git processes running, reparented to
 * init. So every worker process works in a directory of its own under
 * WORKSPACE_ROOT, named after its pid and the kernel's start time of that
 * pid (pids are reused; the pair is not), with one directory per job inside:
 *
 *   <root>/w-<pid>-<starttime>/job-<n>/…   (the pipeline's workspaces)
 *
 * At start-up and then periodically the janitor:
 *  - for a directory whose owner is gone (no such pid, or the pid now belongs
 *    to another process): kills every process whose working directory or
 *    command line is inside it (git, git-http helpers, a shell a hook might
 *    have run), then removes it;
 *  - in its own directory: removes job directories no running job holds
 *    (a job whose cleanup failed).
 * Several workers may share a root (one host, several processes): each only
 * removes what a dead process or it itself left. Off Linux (no /proc) an
 * owner counts as gone when its directory is older than `maxAgeMs`, and no
 * processes are killed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@labgrader/core';
import type { ServiceMetrics } from '@labgrader/queue';

const OWNER = /^w-(\d+)-(\d+)$/;
const JOB = /^job-\d+$/;

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces and ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export interface SweepResult {
  /** Owner directories of dead processes that were removed. */
  removedOwners: string[];
  /** Job directories of this process no job held. */
  removedJobs: string[];
  /** Pids of leftover processes that were killed. */
  killed: number[];
}

export interface Janitor {
  /** This process's own directory. */
  readonly ownDir: string;
  /** A fresh directory for one job's workspaces; `release` removes it. */
  claim(): Promise<{ dir: string; release(): Promise<void> }>;
  sweep(): Promise<SweepResult>;
  /** Sweeps now and every `intervalMs`. */
  start(intervalMs: number): void;
  stop(): void;
}

async function processesInside(dir: string): Promise<number[]> {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return found;
  }
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (cwd === dir || cwd.startsWith(prefix) || cmdline.some((arg) => arg === dir || arg.includes(prefix))) {
        found.push(pid);
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

export async function createJanitor(options: {
  root: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Off Linux: how old a directory of another process must be to count as left behind (default 1 day). */
  maxAgeMs?: number;
}): Promise<Janitor> {
  const { root, logger } = options;
  const log = logger.child({ component: 'janitor' });
  const proc = existsSync('/proc/self/stat');
  const ownStart = (await processStartTime(process.pid)) ?? '0';
  const ownName = `w-${process.pid}-${ownStart}`;
  const ownDir = path.join(root, ownName);
  await mkdir(ownDir, { recursive: true, mode: 0o700 });
  const held = new Set<string>();
  let counter = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepResult> | undefined;

  const ownerGone = async (name: string, pid: number, start: string): Promise<boolean> => {
    if (proc) return (await processStartTime(pid)) !== start;
    const age = Date.now() - (await stat(path.join(root, name))).mtimeMs;
    return age > (options.maxAgeMs ?? 24 * 3600_000);
  };

  const sweepOnce = async (): Promise<SweepResult> => {
    const result: SweepResult = { removedOwners: [], removedJobs: [], killed: [] };
    let names: string[];
    try {
      names = await readdir(root);
    } catch {
      return result;
    }
    for (const name of names) {
      const m = OWNER.exec(name);
      if (!m) continue;
      const dir = path.join(root, name);
      if (name === ownName) {
        for (const job of await readdir(dir).catch(() => [] as string[])) {
          const jobDir = path.join(dir, job);
          if (!JOB.test(job) || held.has(jobDir)) continue;
          await rm(jobDir, { recursive: true, force: true });
          result.removedJobs.push(jobDir);
        }
        continue;
      }
      if (!(await ownerGone(name, Number(m[1]), m[2]!))) continue;
      if (proc) {
        // Twice: a process may fork (git → git-remote-http) while the first pass kills.
        for (let pass = 0; pass < 2; pass++) {
          for (const pid of await processesInside(dir)) {
            try {
              process.kill(pid, 'SIGKILL');
              if (!result.killed.includes(pid)) result.killed.push(pid);
            } catch {
              /* already gone, or not ours to kill */
            }
          }
        }
      }
      await rm(dir, { recursive: true, force: true });
      result.removedOwners.push(dir);
    }
    if (result.removedOwners.length + result.removedJobs.length + result.killed.length > 0) {
      log.warn('removed what dead or failed jobs left behind', { ...result });
      options.metrics?.errors.inc(
        { component: 'janitor', kind: 'leftovers' },
        result.removedOwners.length + result.removedJobs.length,
      );
    }
    return result;
  };

  const janitor: Janitor = {
    ownDir,
    async claim() {
      counter += 1;
      const dir = path.join(ownDir, `job-${counter}`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      held.add(dir);
      return {
        dir,
        async release() {
          try {
            await rm(dir, { recursive: true, force: true });
          } finally {
            held.delete(dir);
          }
        },
      };
    },
    sweep() {
      // One sweep at a time; a caller during a sweep gets that sweep's result.
      running ??= sweepOnce().finally(() => (running = undefined));
      return running;
    },
    start(intervalMs) {
      void janitor.sweep().catch((err: unknown) => log.warn('janitor sweep failed', { error: err }));
      timer = setInterval(() => {
        void janitor.sweep().catch((err: unknown) => log.warn('janitor sweep failed', { error: err }));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return janitor;
}
