/** A resolved course configuration: what the loader returns and every function here takes. */

/** Which repositories of the course organisation belong to a lab, and whose each is. */
export type RepositoryMatcher =
  /** GitHub Classroom: `<assignment>-<login>` (the default, with the lab id as the assignment). */
  | { kind: 'classroom'; assignment: string }
  /** A glob with exactly one `*`, which is the student's login: `k8s-*-lab85`. */
  | { kind: 'glob'; glob: string }
  /** A regular expression over the whole name with a named group `login`; case-insensitive. */
  | { kind: 'regex'; regex: string }
  /** Explicit repositories, each with its student. */
  | { kind: 'list'; repositories: { name: string; student: string }[] }
  /** No course configuration: every repository, its owner is the student (`defaultCourse`). */
  | { kind: 'owner' };

/** A rubric reference, resolved. */
export interface LabRubric {
  /** As written in the course file (an id or a path). */
  ref: string;
  /** The rubric's id: what grading jobs and stored reports carry. */
  id: string;
  /** The rubric file, when the resolver found one. */
  file?: string;
}

export interface Deadline {
  /** The instant of the deadline. */
  at: Date;
  /** The wall-clock deadline in `timeZone`, e.g. `2027-03-28T23:59`. */
  local: string;
  /** IANA zone the deadline is expressed in (also the zone of the late days). */
  timeZone: string;
}

/**
 * What happens to pushes after the deadline. `latePolicy: accept` is all
 * zeros without a cutoff; `latePolicy: reject` is `cutoff: { maxDaysLate: 0 }`.
 */
export interface LatePolicy {
  /** Pushes within this long after the deadline are on time. */
  graceMinutes: number;
  /** Taken once as soon as a push is late. */
  penaltyPercent: number;
  /** Taken for each started day late (a day ends at the deadline's wall-clock time, in its zone). */
  penaltyPercentPerDay: number;
  /** The penalty never exceeds this. */
  maxPenaltyPercent: number;
  /** What a percent is of: the lab's maximum points (percentage points) or the points earned. */
  penaltyOf: 'max-points' | 'score';
  /** Pushes after the cutoff are not accepted; without one, every late push is. */
  cutoff?: { maxDaysLate: number } | { acceptUntil: Date };
}

/** How many cluster-stage runs one student gets per calendar window in the lab's time zone. */
export interface ClusterBudget {
  runs: number;
  per: 'hour' | 'day' | 'week';
}

export type ShowClusterDetails = 'always' | 'after-deadline';

export interface Lab {
  id: string;
  title?: string;
  rubric: LabRubric;
  repositories: RepositoryMatcher;
  /** The lab's zone (its own `timeZone`, else the course's): deadlines and budget windows. */
  timeZone: string;
  deadline?: Deadline;
  latePolicy: LatePolicy;
  /** Percent of the maximum points (after the late penalty) needed to pass; undefined: no pass mark. */
  passPercent?: number;
  /** Undefined: unlimited. */
  clusterBudget?: ClusterBudget;
  showClusterDetails: ShowClusterDetails;
}

export type Instructor = { kind: 'user'; login: string } | { kind: 'team'; org: string; slug: string };

export interface RosterEntry {
  login: string;
  name?: string;
  email?: string;
  studentId?: string;
}

export interface CourseConfig {
  id: string;
  title?: string;
  /** Where it was loaded from (for messages); `(default)` for `defaultCourse`. */
  source: string;
  /** sha256 of the file's bytes, or `default:<rubric ids>`. */
  digest: string;
  /** False for `defaultCourse`: no course file, today's behaviour. */
  configured: boolean;
  /** The GitHub organisation the course's repositories live in; undefined only for `defaultCourse`. */
  organization?: string;
  timeZone: string;
  instructors: Instructor[];
  labs: Lab[];
  /** Globs of repository names that are never graded (`*-template`, `course-site`). */
  ignore: string[];
  roster: RosterEntry[];
}
