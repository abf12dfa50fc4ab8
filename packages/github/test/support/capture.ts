import type { CommandRunner, LogFields, Logger } from '@labgrader/core';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

function serialise(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      stack: value.stack,
      ...Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serialise(v, depth + 1)])),
      cause: serialise((value as { cause?: unknown }).cause, depth + 1),
    };
  }
  if (Array.isArray(value)) return value.map((v) => serialise(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serialise(v, depth + 1)]));
  }
  return value;
}

/** Everything an error, a log line or a value would show when written out: message, stack, fields, causes. */
export function everything(value: unknown): string {
  return JSON.stringify(serialise(value));
}

/** A Logger that keeps every line (with its bindings) for assertions. */
export function capturingLogger(entries: LogEntry[] = [], bindings: LogFields = {}): Logger & { entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields: LogFields = {}) =>
      entries.push({ level, message, fields: { ...bindings, ...(serialise(fields) as LogFields) } });
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => capturingLogger(entries, { ...bindings, ...more }),
  };
}

export interface RecordedCommand {
  command: string;
  args: readonly string[];
  env: Record<string, string | undefined>;
}

/** Wraps a runner and records every command line (and the environment it was given) it ran. */
export function recordingRunner(runner: CommandRunner, calls: RecordedCommand[]): CommandRunner {
  return {
    run(command, args, options) {
      calls.push({ command, args: [...args], env: { ...(options?.env ?? {}) } });
      return runner.run(command, args, options);
    },
  };
}
