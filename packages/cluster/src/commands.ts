/**
 * kind, kubectl and docker through the CommandRunner port, with a transcript
 * of every command (what the report shows as evidence: the commands, their
 * exit codes and timings). Standard input is never recorded or logged: it
 * carries the synthesized Secrets.
 */
import path from 'node:path';
import {
  InfrastructureError,
  redactSecrets,
  throwIfAborted,
  type Clock,
  type CommandResult,
  type CommandRunner,
  type Logger,
} from '@labgrader/core';

export interface CommandRecord {
  /** As a person would type it, without connection flags (`kubectl -n lab85 delete pod web-1`). */
  display: string;
  exitCode: number;
  durationMs: number;
  /** Milliseconds since the stage started. */
  atMs: number;
}

export class Transcript {
  readonly records: CommandRecord[] = [];
  constructor(
    private readonly clock: Clock,
    private readonly startedMs: number,
  ) {}

  add(record: Omit<CommandRecord, 'atMs'> & { startedMs: number }): void {
    const { startedMs, ...rest } = record;
    this.records.push({ ...rest, atMs: Math.round(startedMs - this.startedMs) });
  }

  now(): number {
    return this.clock.monotonicMs();
  }

  /** Records from index `from` on (a scenario's own commands). */
  since(from: number): CommandRecord[] {
    return this.records.slice(from);
  }

  get length(): number {
    return this.records.length;
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /**
   * Defaults to the tool's signal; `null` runs without one: cleanup after an
   * abort, which also runs in a process group of its own, so that a second
   * Ctrl-C at the terminal does not kill the `kind delete` it waits for.
   */
  signal?: AbortSignal | null;
  /** Do not record this command in the transcript (polling loops record a summary instead). */
  unrecorded?: boolean;
  /** Its input or output may hold secret values: never log its output. */
  sensitive?: boolean;
}

/** One external program with its fixed leading arguments (kubeconfig, context). */
export class Tool {
  constructor(
    private readonly runner: CommandRunner,
    readonly binary: string,
    /** Name shown in transcripts and messages (`kubectl`, not its full path). */
    readonly name: string,
    private readonly baseArgs: readonly string[],
    private readonly env: Record<string, string | undefined>,
    private readonly transcript: Transcript,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {}

  /** The same program acting as another identity (`kubectl --as=<user>`): what a lab's objects are applied as. */
  as(user: string, shortName: string): Tool {
    return new Tool(
      this.runner,
      this.binary,
      `${this.name} --as=${shortName}`,
      [...this.baseArgs, `--as=${user}`],
      this.env,
      this.transcript,
      this.logger,
      this.signal,
    );
  }

  async run(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const signal = options.signal === null ? undefined : (options.signal ?? this.signal);
    throwIfAborted(signal);
    const display = redactSecrets([this.name, ...args].join(' '));
    const started = this.transcript.now();
    this.logger.debug('run', { command: display });
    const result = await this.runner.run(this.binary, [...this.baseArgs, ...args], {
      env: this.env,
      ...(signal ? { signal } : {}),
      timeoutMs: options.timeoutMs ?? 60_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.signal === null ? { detached: true } : {}),
    });
    if (!options.unrecorded) {
      this.transcript.add({
        display,
        exitCode: result.exitCode,
        durationMs: Math.round(result.durationMs),
        startedMs: started,
      });
    }
    if (result.exitCode !== 0 && !options.sensitive) {
      this.logger.debug('command failed', {
        command: display,
        exitCode: result.exitCode,
        stderr: redactSecrets(result.stderr.slice(0, 2000)),
      });
    }
    return result;
  }

  /** Runs and returns stdout; a non-zero exit is an infrastructure problem (our side, retry). */
  async output(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0) throw commandFailed(this.name, args, result);
    return result.stdout;
  }

  async json<T>(args: readonly string[], options: RunOptions = {}): Promise<T> {
    const stdout = await this.output([...args, '-o', 'json'], options);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new InfrastructureError(`${this.name} ${args.join(' ')} did not print JSON`);
    }
  }
}

export function firstLine(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return redactSecrets((line ?? '').slice(0, 400));
}

export function commandFailed(name: string, args: readonly string[], result: CommandResult): InfrastructureError {
  const why = result.timedOut
    ? 'timed out'
    : `exited with ${result.exitCode}: ${firstLine(result.stderr || result.stdout)}`;
  return new InfrastructureError(redactSecrets(`${name} ${args.slice(0, 6).join(' ')} ${why}`));
}

/** The program's file name, for messages (`kind`, not `/root/.cache/…/kind`). */
export function displayName(binary: string): string {
  return path.basename(binary);
}

/** An abortable pause: rejects with the signal's reason (AbortedError) when aborted. */
export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal);
      } catch (err) {
        reject(err);
      }
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
