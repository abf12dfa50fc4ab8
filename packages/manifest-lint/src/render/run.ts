/**
 * Running a renderer (kubectl kustomize, helm template) through the
 * CommandRunner port, with a time limit, an output cap, an isolated
 * environment, a private home and (where the OS allows) no network: see
 * sandbox.ts. Never throws for the student's mistakes or a missing tool:
 * the outcome says what happened.
 */
import path from 'node:path';
import { CommandNotFoundError, isLabgraderError, type CommandRunner } from '@labgrader/core';
import { createPrivateHome, removePrivateHome, type NetworkIsolation, type PrivateHome } from './sandbox.js';
import { rememberTool, rememberedTool, toolCandidates, type Env, type RenderToolName } from './tools.js';

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

export interface RenderOptions {
  /** The repository checkout (working directory; removed from error messages). */
  root: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Required so that no caller forgets it: pass `noNetworkIsolation(...)` to run with the network on purpose. */
  network: NetworkIsolation;
  /** Makes the private home (tests observe it); default: a fresh mkdtemp under the OS temp dir. */
  createHome?: () => Promise<PrivateHome>;
}

export async function runRenderer(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  options: RenderOptions,
): Promise<RenderOutcome> {
  let home: PrivateHome | undefined;
  try {
    home = await (options.createHome ?? createPrivateHome)();
    const wrapped = options.network.wrap(command, args);
    const result = await runner.run(wrapped.command, wrapped.args, {
      cwd: options.root,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      isolateEnv: true,
      env: home.env,
      maxOutputBytes: MAX_OUTPUT,
    });
    if (result.timedOut) {
      return {
        ok: false,
        reason: 'timed-out',
        message: `${command} did not finish within ${Math.round(options.timeoutMs / 1000)} s`,
      };
    }
    if (options.network.isMissingProgram(result)) {
      return { ok: false, reason: 'missing-tool', message: new CommandNotFoundError(command).message };
    }
    if (result.exitCode !== 0)
      return { ok: false, reason: 'failed', message: summarizeError(result.stderr, options.root) };
    return { ok: true, stdout: result.stdout };
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      // With isolation the runner started `unshare`; name the tool the student's file needs.
      return { ok: false, reason: 'missing-tool', message: new CommandNotFoundError(command).message };
    }
    // Cancellation is the pipeline's business: let it through.
    if (isLabgraderError(err) && err.name === 'AbortedError') throw err;
    return { ok: false, reason: 'failed', message: err instanceof Error ? err.message : String(err) };
  } finally {
    // rm -rf with retries; if even that fails the grade is still right, so do not turn it into an error.
    if (home) await removePrivateHome(home.dir).catch(() => {});
  }
}

export type ToolOutcome = RenderOutcome & {
  /** For a missing tool: every place looked at, for the message. */
  searched?: string;
};

/**
 * Runs a renderer found at the first candidate that starts (see tools.ts):
 * a missing program moves on to the next candidate, anything else (success,
 * failure, time-out) is the outcome. The candidate that started is tried
 * first next time with the same runner.
 */
export async function runTool(
  runner: CommandRunner,
  tool: RenderToolName,
  args: readonly string[],
  options: RenderOptions & { env: Env },
): Promise<ToolOutcome> {
  const candidates = toolCandidates(tool, options.env);
  const key = `${tool}\u0000${candidates.map((c) => c.command).join('\u0000')}`;
  const remembered = rememberedTool(runner, key);
  const ordered = remembered
    ? [...candidates.filter((c) => c.command === remembered), ...candidates.filter((c) => c.command !== remembered)]
    : candidates;
  let outcome: RenderOutcome | undefined;
  for (const candidate of ordered) {
    outcome = await runRenderer(runner, candidate.command, args, options);
    if (outcome.ok || outcome.reason !== 'missing-tool') {
      rememberTool(runner, key, candidate.command);
      return outcome;
    }
  }
  return {
    ok: false,
    reason: 'missing-tool',
    message: new CommandNotFoundError(tool).message,
    searched: candidates.map((c) => c.shown).join(', '),
  };
}
