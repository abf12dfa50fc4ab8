/**
 * A real `labgrader-worker` process, as an operator runs one: its TypeScript
 * sources through test/support/ts-loader.mjs (so a test never runs a stale
 * dist/), its JSON log lines parsed as they come, and a wait for a given
 * message. Tests pass the whole environment; nothing of the test runner's own
 * environment leaks in except what they pass.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './world.js';

export interface WorkerProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** The first line with this message (or matching this predicate), seen already or still to come. */
  waitFor(match: string | LineMatch, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export type LineMatch = (line: Record<string, unknown>) => boolean;

/** Starts `node apps/worker/src/main.ts` with exactly `env`; `track` collects the child for cleanup. */
export function spawnWorkerProcess(env: Record<string, string>, track?: ChildProcess[]): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', path.join(ROOT, 'test/support/ts-loader.mjs'), path.join(ROOT, 'apps/worker/src/main.ts')],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track?.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  const waiters: Array<{ match: LineMatch; resolve: (line: Record<string, unknown>) => void }> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor(wanted, timeoutMs = 60_000) {
      const match: LineMatch = typeof wanted === 'string' ? (l) => l.msg === wanted : wanted;
      const msg = typeof wanted === 'string' ? wanted : 'a matching line';
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no '${msg}' within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; log: ${JSON.stringify(lines.slice(-5))}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`worker exited before '${msg}'; stderr: ${stderr.slice(-2000)}`));
        });
      });
    },
  };
}
