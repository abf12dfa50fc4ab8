/**
 * Structured logging for the services (API and worker): pino, JSON lines,
 * behind core's `Logger` port so the pipeline logs through it too.
 *
 * Nothing secret may reach a log line. Every message and every string field
 * goes through `redactSecrets` (GitHub tokens, credentials in URLs,
 * authorization headers, private keys) and through a mask of the literal
 * secrets this process was configured with (the webhook secret, database and
 * Redis passwords), and fields whose name says they are secret are dropped.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactSecrets, type LogFields, type Logger } from '@labgrader/core';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServiceLoggerOptions {
  /** `labgrader-api`, `labgrader-worker`. */
  name: string;
  level?: LogLevel;
  /** Literal secret values to mask wherever they appear (empty and very short values are ignored). */
  secrets?: readonly (string | undefined)[];
  /** Where to write (default stdout); tests pass a collecting stream. */
  destination?: DestinationStream;
}

const SECRET_KEY = /(secret|token|password|passwd|authorization|signature|private.?key|credential)/i;
const MAX_DEPTH = 6;

export type Redactor = (text: string) => string;

export function createRedactor(secrets: readonly (string | undefined)[] = []): Redactor {
  const literals = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text;
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join('[REDACTED]');
    return redactSecrets(out);
  };
}

/** A copy of `value` safe to log: secrets masked, Errors flattened, depth bounded. */
export function redactValue(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (value instanceof Error) {
    const cause: unknown = (value as { cause?: unknown }).cause;
    return {
      type: value.name,
      message: redact(value.message),
      ...(value.stack ? { stack: redact(value.stack) } : {}),
      ...(cause !== undefined ? { cause: redactValue(cause, redact, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact, depth + 1));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && v !== undefined && v !== null && v !== false
        ? '[REDACTED]'
        : redactValue(v, redact, depth + 1);
  }
  return out;
}

function adapt(target: PinoLogger<never>, redact: Redactor): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields) target[level](redactValue(fields, redact) as object, redact(message));
      else target[level](redact(message));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => adapt(target.child(redactValue(bindings, redact) as LogFields), redact),
  };
}

/**
 * stdout, written in batches: under load one write(2) per line is a sizeable share of a webhook's
 * cost (see bench/intake). Lines wait at most 250 ms, and are flushed when the process exits.
 */
function batchedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, minLength: 4096, sync: true });
  // The periodic flush only writes what is buffered: sonic-boom's flushSync also fsyncs, which
  // blocks the event loop for milliseconds when stdout is a file (seen in bench/intake's profile).
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      /* stdout closed */
    }
  }, 250).unref();
  process.on('exit', () => {
    try {
      destination.flushSync();
    } catch {
      /* stdout closed */
    }
  });
  return destination;
}

export function createServiceLogger(options: ServiceLoggerOptions): Logger {
  const redact = createRedactor(options.secrets);
  const base = pino<never>(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { service: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? batchedStdout(),
  );
  return adapt(base, redact);
}
