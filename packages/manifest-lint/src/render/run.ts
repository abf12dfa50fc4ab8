/**
 * Running a renderer (kubectl kustomize, helm template) through the
 * CommandRunner port, with a time limit, an output cap and an isolated
 * environment. Never throws for the student's mistakes or a missing tool:
 * the outcome says what happened.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandNotFoundError, isLabgraderError, type CommandRunner } from '@labgrader/core';

export type RenderOutcome =
  { ok: true; stdout: string } | { ok: false; reason: 'missing-tool' | 'failed' | 'timed-out'; message: string };

const MAX_OUTPUT = 32 * 1024 * 1024;

/** First meaningful lines of a tool's error output, with the checkout path removed. */
export function summarizeError(stderr: string, root: string): string {
  const lines = stderr
    .split('\n')
    // klog prefixes ("E1121 10:54:02.090745   28496 run.go:72] ") and quoting add nothing for a student.
    .map((l) =>
      l
        .trim()
        .replace(/^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] /, '')
        .replace(/\\"/g, '"'),
    )
    .filter((l) => l && !/^(W|I)\d{4} /.test(l) && !l.startsWith('walk.go'));
  const text = lines
    .slice(0, 3)
    .join(' ')
    .split(root + path.sep)
    .join('')
    .split(root)
    .join('.');
  return text.length > 400 ? `${text.slice(0, 400)}…` : text || 'no error output';
}

export async function runRenderer(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  options: { root: string; timeoutMs: number; signal?: AbortSignal; env?: Record<string, string> },
): Promise<RenderOutcome> {
  try {
    const result = await runner.run(command, args, {
      cwd: options.root,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      isolateEnv: true,
      env: { HOME: path.join(tmpdir(), 'labgrader-render-home'), ...options.env },
      maxOutputBytes: MAX_OUTPUT,
    });
    if (result.timedOut) {
      return {
        ok: false,
        reason: 'timed-out',
        message: `${command} did not finish within ${Math.round(options.timeoutMs / 1000)} s`,
      };
    }
    if (result.exitCode !== 0)
      return { ok: false, reason: 'failed', message: summarizeError(result.stderr, options.root) };
    return { ok: true, stdout: result.stdout };
  } catch (err) {
    if (err instanceof CommandNotFoundError) return { ok: false, reason: 'missing-tool', message: err.message };
    // Cancellation is the pipeline's business: let it through.
    if (isLabgraderError(err) && err.name === 'AbortedError') throw err;
    return { ok: false, reason: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
}
