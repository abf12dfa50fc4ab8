/**
 * A scripted CommandRunner and a fake clock for the orchestration tests.
 * Every command must be answered by a handler, or the test fails naming it;
 * every call is recorded with its options (to check inputs, signals, order).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AbortedError,
  CommandNotFoundError,
  silentLogger,
  type Clock,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
  type ConfiguredCheck,
  type LogFields,
  type Logger,
  type RepoFiles,
  type StageInput,
} from '@labgrader/core';
import { openRepoFiles } from '@labgrader/repo';
import type { ClusterSettings } from '../../src/index.js';
import { Tool, Transcript } from '../../src/commands.js';

export interface Call {
  command: string;
  args: string[];
  options: CommandOptions;
  /** Fake time when it started. */
  at: number;
}

type Reply = Partial<CommandResult> | CommandResult;
export type Handler = (call: Call) => Reply | Promise<Reply> | undefined;

export class FakeClock implements Clock {
  t = 0;
  readonly base = Date.parse('2026-11-21T10:00:00Z');
  now(): Date {
    return new Date(this.base + this.t);
  }
  monotonicMs(): number {
    return this.t;
  }
  private waiters: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  private ticking = false;

  /**
   * The stage's sleep. Sleepers wake in time order; time jumps to the
   * earliest waiter once everything else has settled (nothing really waits),
   * so concurrent loops (a drill polling, a prober probing) share one timeline.
   */
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) {
      return Promise.reject(signal.reason instanceof Error ? signal.reason : new AbortedError('aborted'));
    }
    return new Promise<void>((resolve) => {
      this.waiters.push({ at: this.t + ms, seq: this.seq++, resolve });
      this.schedule();
    });
  };

  private schedule(): void {
    if (this.ticking) return;
    this.ticking = true;
    setImmediate(() => {
      this.ticking = false;
      this.waiters.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.waiters.shift();
      if (!next) return;
      this.t = Math.max(this.t, next.at);
      next.resolve();
      if (this.waiters.length > 0) this.schedule();
    });
  }
}

export class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  private readonly handlers: { match: (c: Call) => boolean; handler: Handler }[] = [];
  /** Fake milliseconds each command takes. */
  commandMs = 50;

  constructor(private readonly clock: FakeClock) {}

  /** Answers commands whose `binary + args` joined by spaces matches (string: substring; RegExp: test). */
  on(pattern: string | RegExp | ((c: Call) => boolean), handler: Handler | Reply): this {
    const match =
      typeof pattern === 'function'
        ? pattern
        : (c: Call) => {
            const line = [path.basename(c.command), ...c.args].join(' ');
            return typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
          };
    this.handlers.unshift({ match, handler: typeof handler === 'function' ? handler : () => handler });
    return this;
  }

  async run(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const call: Call = { command, args: [...args], options, at: this.clock.t };
    this.calls.push(call);
    if (options.signal?.aborted) {
      const reason: unknown = options.signal.reason;
      throw reason instanceof AbortedError ? reason : new AbortedError('cancelled');
    }
    for (const { match, handler } of this.handlers) {
      if (!match(call)) continue;
      const reply = await handler(call);
      if (reply === undefined) continue;
      this.clock.t += this.commandMs;
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: this.commandMs, ...reply };
    }
    throw new Error(`FakeRunner: no handler for: ${[path.basename(command), ...args].join(' ')}`);
  }

  lines(): string[] {
    return this.calls.map((c) => [path.basename(c.command), ...c.args].join(' '));
  }

  /** A program that is not installed. */
  missing(binary: string): this {
    return this.on(
      (c) => c.command === binary,
      () => {
        throw new CommandNotFoundError(binary);
      },
    );
  }
}

/** A logger that keeps everything it is told, to prove what is never logged. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: LogFields): Logger & { lines: string[] } => {
    const log = (level: string) => (message: string, fields?: LogFields) =>
      lines.push(`${level} ${message} ${JSON.stringify({ ...bindings, ...fields })}`);
    return {
      lines,
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

export function writeLab(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'labgrader-cluster-test-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

export async function repoOf(dir: string): Promise<RepoFiles> {
  return openRepoFiles(dir);
}

export const EXAMPLES = new URL('../../../../examples/', import.meta.url).pathname;

export function stageInput(
  repo: RepoFiles,
  runner: CommandRunner,
  settings: Partial<ClusterSettings> | Record<string, unknown>,
  extra: { signal?: AbortSignal; checks?: ConfiguredCheck[]; logger?: Logger; progress?: string[] } = {},
): StageInput<ClusterSettings> {
  return {
    repo,
    settings: settings as ClusterSettings,
    runner,
    signal: extra.signal ?? new AbortController().signal,
    logger: extra.logger ?? silentLogger,
    inventory: { objects: [], files: [] },
    progress: (m) => extra.progress?.push(m),
    ...(extra.checks ? { checks: extra.checks } : {}),
  };
}

/** A program (kubectl by default) over the scripted runner, with a transcript on the fake clock. */
export function fakeTool(runner: FakeRunner, clock: FakeClock, name = 'kubectl'): Tool {
  return new Tool(runner, name, name, [], {}, new Transcript(clock, 0), silentLogger, new AbortController().signal);
}
