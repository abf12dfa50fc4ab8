/**
 * Ports: the small interfaces through which the grading core reaches the
 * outside world. Adapters (execa, git, the filesystem, octokit, ioredis) live
 * in their own packages; tests inject fakes or real local services.
 */
import { InfrastructureError } from './errors.js';

/** Time source. `monotonicMs` is for durations, `now` for timestamps. */
export interface Clock {
  now(): Date;
  monotonicMs(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
};

export interface CommandOptions {
  cwd?: string;
  /** Extra environment; `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  /** Start from an empty environment plus `env` (plus PATH/HOME), not the parent's. */
  isolateEnv?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string;
  /** Kill the command if stdout or stderr grows past this (default 16 MiB). */
  maxOutputBytes?: number;
  /**
   * Run it in a process group of its own: the Ctrl-C a terminal sends to the
   * whole foreground group (labgrader and every child) does not reach it.
   * For cleanup that must finish (deleting a cluster) while labgrader stops.
   */
  detached?: boolean;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs external programs (git, kubectl, helm, kind). Resolves with the result
 * whatever the exit code; rejects with CommandNotFoundError when the program
 * is not installed, and with AbortedError when the signal fires.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}

export class CommandNotFoundError extends InfrastructureError {
  readonly command: string;
  constructor(command: string) {
    super(`'${command}' is not installed or not on PATH`, { hint: `Install ${command} or add it to PATH.` });
    this.command = command;
  }
}

export type LogFields = Record<string, unknown>;

/** Structured logger. Implementations must pass messages through `redactSecrets`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
