/**
 * Typed errors. The distinction that matters operationally:
 *  - UsageError / ConfigError: the caller asked for something wrong; fix the input.
 *  - NotGradableError: the submission cannot be graded (no manifests, cannot be
 *    fetched, cluster could not start). Not a student zero; report it as such.
 *  - InfrastructureError: our side failed (docker down, Redis gone); retry later.
 * Student mistakes are never errors: they are findings.
 */

export type ErrorKind = 'usage' | 'config' | 'not-gradable' | 'infrastructure';

export abstract class LabgraderError extends Error {
  abstract readonly kind: ErrorKind;
  /** What the user should do about it. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }

  /** Infrastructure failures are worth retrying; the others are not. */
  get retryable(): boolean {
    return this.kind === 'infrastructure';
  }
}

export class UsageError extends LabgraderError {
  readonly kind = 'usage';
}

/** A configuration file (rubric, config) is invalid. */
export class ConfigError extends LabgraderError {
  readonly kind = 'config';
  /** Each problem, already formatted as `file:line: message`. */
  readonly problems: readonly string[];

  constructor(message: string, options: { hint?: string; cause?: unknown; problems?: readonly string[] } = {}) {
    super(message, options);
    this.problems = options.problems ?? [];
  }
}

export type NotGradableReason =
  | 'fetch-failed'
  | 'no-manifests'
  | 'too-large'
  | 'cluster-unavailable'
  /** The repository's Dockerfile could not build the image its manifests name (cluster stage). */
  | 'image-build-failed'
  | 'stage-failed'
  | 'timed-out';

export class NotGradableError extends LabgraderError {
  readonly kind = 'not-gradable';
  readonly reason: NotGradableReason;

  constructor(reason: NotGradableReason, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.reason = reason;
  }
}

export class InfrastructureError extends LabgraderError {
  readonly kind = 'infrastructure';
}

/** Thrown when an AbortSignal fires (stage time budget, shutdown). */
export class AbortedError extends LabgraderError {
  readonly kind = 'infrastructure';
}

export function isLabgraderError(err: unknown): err is LabgraderError {
  return err instanceof LabgraderError;
}

/** Rethrow if the signal is aborted, with the signal's reason when it is ours. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof LabgraderError) throw reason;
  throw new AbortedError(reason instanceof Error ? reason.message : 'operation aborted', { cause: reason });
}
