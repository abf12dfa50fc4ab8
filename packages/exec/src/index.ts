/**
 * The CommandRunner port implemented with execa. execa gives us reliable
 * kill-on-timeout, AbortSignal cancellation, output size limits and proper
 * ENOENT detection, which node:child_process leaves to every caller.
 */
import type { ExecaError, execa as execaFunction } from 'execa';
import {
  AbortedError,
  CommandNotFoundError,
  InfrastructureError,
  redactSecrets,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
} from '@labgrader/core';

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

/** Variables a child keeps when `isolateEnv` is set: enough to find programs and a home. */
const BASE_ENV = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'DOCKER_HOST', 'KUBECONFIG'];

function buildEnv(options: CommandOptions): Record<string, string | undefined> {
  if (!options.isolateEnv) return { ...options.env };
  const env: Record<string, string | undefined> = {};
  for (const key of BASE_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, ...options.env };
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return '';
}

let execaModule: Promise<{ execa: typeof execaFunction }> | undefined;

/**
 * execa, and with it child processes and streams, is loaded by the first
 * command, not when the runner is created: a CLI run that starts no program
 * (`labgrader lint` of a folder outside git) never loads it. The worker pays
 * it once, on its first job.
 */
function loadExeca(): Promise<{ execa: typeof execaFunction }> {
  return (execaModule ??= import('execa'));
}

export function createExecaRunner(): CommandRunner {
  return {
    async run(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
      const { execa } = await loadExeca();
      const started = performance.now();
      const env = buildEnv(options);
      try {
        const result = await execa(command, args, {
          cwd: options.cwd,
          env,
          extendEnv: !options.isolateEnv,
          cancelSignal: options.signal,
          timeout: options.timeoutMs,
          input: options.input,
          stdin: options.input === undefined ? 'ignore' : 'pipe',
          maxBuffer: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
          reject: false,
          stripFinalNewline: false,
          forceKillAfterDelay: 2_000,
          ...(options.detached ? { detached: true } : {}),
        });
        const durationMs = performance.now() - started;
        if (result.failed && result.code === 'ENOENT') throw new CommandNotFoundError(command);
        if (result.isCanceled) {
          const reason: unknown = options.signal?.reason;
          throw reason instanceof AbortedError
            ? reason
            : new AbortedError(`'${command}' was cancelled`, { cause: reason });
        }
        if (result.isMaxBuffer) {
          throw new InfrastructureError(
            `'${command}' produced more output than the ${options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT} byte limit`,
          );
        }
        if (result.failed && result.exitCode === undefined && !result.timedOut) {
          throw new InfrastructureError(redactSecrets(`'${command}' could not be started: ${result.shortMessage}`));
        }
        return {
          exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
          stdout: asText(result.stdout),
          stderr: asText(result.stderr),
          timedOut: result.timedOut,
          durationMs,
        };
      } catch (err) {
        if (err instanceof CommandNotFoundError || err instanceof AbortedError || err instanceof InfrastructureError)
          throw err;
        const e = err as ExecaError;
        if (e.code === 'ENOENT') throw new CommandNotFoundError(command);
        throw new InfrastructureError(redactSecrets(`'${command}' failed to run: ${e.shortMessage ?? String(err)}`), {
          cause: err,
        });
      }
    },
  };
}
