/** The CLI's view of its process, injected so tests run commands in-process. */
export interface CliIO {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
}

export const EXIT = {
  /** Graded (and at or above --fail-under, when given). */
  OK: 0,
  /** Graded below --fail-under, or lint findings at or above --fail-on. */
  BELOW_THRESHOLD: 1,
  /** Bad arguments, unreadable or invalid rubric. */
  USAGE: 2,
  /** The submission could not be graded (no manifests, cannot clone, stage failed). */
  NOT_GRADABLE: 3,
  /** A labgrader bug. */
  INTERNAL: 4,
} as const;

/** Colour on TTYs unless NO_COLOR is set; FORCE_COLOR forces it. */
export function wantsColor(stream: CliIO['stdout'], env: CliIO['env'], flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR) return false;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}
