/**
 * The course file format (`apiVersion: labgrader.dev/v1`, `kind: Course`).
 * Objects are strict: an unknown key is an error with a "did you mean", so a
 * typo like `dealine:` never silently drops a deadline. What one field can
 * say about itself is checked here (a login's shape, a zone Intl knows, a
 * date on the calendar); what needs several fields (a deadline in the lab's
 * zone, unique lab ids, rubrics that exist) is checked by the loader.
 */
import { z } from 'zod';
import { closest } from '@labgrader/rubric';
import { canonicalTimeZone, knownTimeZones, parseDateTimeText } from './time.js';

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/**
 * GitHub logins and organisation names: letters, digits and hyphens, up to 39
 * characters, not starting with a hyphen (a few old accounts have doubled or
 * trailing hyphens, so those are allowed).
 */
export const GITHUB_LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
/** Team slugs as GitHub makes them from team names. */
const TEAM_SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Repository names: what GitHub allows (it turns anything else into `-`). */
export const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** A string field; anything else (a YAML number, a list) says so, and to quote numbers. */
const text = (what: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined
        ? undefined
        : typeof issue.input === 'number'
          ? `must be ${what} as a string: quote it ("${String(issue.input)}") so YAML keeps it as written`
          : `must be ${what}`,
  });

function zoneProblem(name: string): string {
  const guess = closest(name, knownTimeZones());
  if (/^[+-]\d/.test(name) || /^(UTC|GMT)[+-]/i.test(name)) {
    return `'${name}' is a fixed offset, which does not follow daylight saving time; use an IANA zone such as Europe/Paris`;
  }
  return `unknown time zone '${name}'${guess ? `; did you mean '${guess}'?` : ' (use an IANA name such as Europe/Paris)'}`;
}

export const timeZoneSchema = text('an IANA time zone such as Europe/Paris').transform((name, ctx) => {
  const zone = canonicalTimeZone(name);
  if (!zone) {
    ctx.addIssue({ code: 'custom', message: zoneProblem(name) });
    return z.NEVER;
  }
  return zone;
});

/** A deadline or cutoff as written; the loader turns it into an instant in the right zone. */
export const dateTimeSchema = text("a date-time such as '2027-03-28T23:59'").superRefine((value, ctx) => {
  const parsed = parseDateTimeText(value);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.unknownZone ? zoneProblem(parsed.unknownZone) : parsed.problem });
  }
});

export const loginSchema = text('a GitHub login').superRefine((value, ctx) => {
  if (GITHUB_LOGIN.test(value)) return;
  const bare = value.replace(/^@/, '');
  ctx.addIssue({
    code: 'custom',
    message:
      bare !== value && GITHUB_LOGIN.test(bare)
        ? `write the login without '@': '${bare}'`
        : `'${value}' is not a GitHub login (letters, digits and '-', at most 39 characters)`,
  });
});

/** `login` or `org/team-slug`. */
export const instructorSchema = text("a GitHub login or an 'org/team-slug'").superRefine((value, ctx) => {
  const bare = value.replace(/^@/, '');
  const [org, slug, ...rest] = bare.split('/');
  const ok =
    rest.length === 0 &&
    (slug === undefined ? GITHUB_LOGIN.test(org!) : GITHUB_LOGIN.test(org!) && TEAM_SLUG.test(slug));
  if (ok && bare === value) return;
  ctx.addIssue({
    code: 'custom',
    message: ok
      ? `write it without '@': '${bare}'`
      : `'${value}' is neither a GitHub login nor an 'org/team-slug' (the team's slug from its URL, e.g. k8s-prod/instructors)`,
  });
});

const percent = z.number().min(0, 'must be a percentage from 0 to 100').max(100, 'must be a percentage from 0 to 100');

/** `'a', 'b' or 'c'`. */
const listOf = (values: readonly string[]) => {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]!;
};

/** Named values as a string branch (so a mapping given by mistake is explained by the object branch). */
const keyword = <T extends string>(values: readonly T[], special: Record<string, string> = {}) =>
  z.string().transform((value, ctx) => {
    if ((values as readonly string[]).includes(value)) return value as T;
    ctx.addIssue({
      code: 'custom',
      message:
        special[value] ??
        `expected ${listOf(values)}${closest(value, values) ? `; did you mean '${closest(value, values)}'?` : ''}`,
    });
    return z.NEVER;
  });

export const latePolicySchema = z.union(
  [
    keyword(['accept', 'reject'] as const, {
      none: "'none' could mean either: write 'accept' (late pushes count, flagged late, no penalty) or 'reject' (pushes after the deadline are not accepted)",
    }),
    z.strictObject({
      /** Pushes this long after the deadline are still on time. */
      graceMinutes: z.number().int().min(0).max(1440).optional(),
      /** Taken once as soon as a push is late. */
      penaltyPercent: percent.optional(),
      /** Taken per started day late. */
      penaltyPercentPerDay: percent.optional(),
      /** Cap on the total penalty (default 100). */
      maxPenaltyPercent: percent.optional(),
      /** Percent of the maximum points (default) or of the points earned. */
      penaltyOf: keyword(['max-points', 'score'] as const).optional(),
      /** Not accepted after this many started days late (0: not after the deadline and grace). */
      maxDaysLate: z.number().int().min(0).max(366).optional(),
      /** Not accepted after this date-time (in the lab's zone unless it names one). */
      acceptUntil: dateTimeSchema.optional(),
    }),
  ],
  {
    error:
      "expected 'accept', 'reject' or an object such as { penaltyPercentPerDay: 10, maxDaysLate: 3 } or { acceptUntil: '2027-04-04T23:59' }",
  },
);

export const clusterBudgetSchema = z.union(
  [
    keyword(['unlimited'] as const),
    z.strictObject({
      runs: z
        .number()
        .int()
        .min(1, 'at least 1 run (for none, grade with a rubric without cluster criteria)')
        .max(10_000),
      per: keyword(['hour', 'day', 'week'] as const),
    }),
  ],
  { error: "expected 'unlimited' or an object such as { runs: 5, per: day }" },
);

export const showClusterDetailsSchema = keyword(['always', 'after-deadline'] as const);

export const repositoriesSchema = z.strictObject({
  /** GitHub Classroom's repository prefix: repositories are `<classroom>-<login>`. Default: the lab id. */
  classroom: text('a Classroom assignment prefix').optional(),
  /** A glob over the repository name with exactly one `*`: the student's login. */
  glob: text("a glob such as 'lab85-*'").optional(),
  /** A regular expression over the whole name, with a named group `login`. */
  regex: text('a regular expression').optional(),
  /** Explicit repositories and whose each is. */
  list: z
    .array(z.strictObject({ name: text('a repository name'), student: loginSchema }))
    .min(1, 'list at least one repository')
    .optional(),
});

/** Settings a lab inherits from `defaults` unless it sets them. */
const labSettings = {
  latePolicy: latePolicySchema.optional(),
  passPercent: percent.optional(),
  clusterBudget: clusterBudgetSchema.optional(),
  showClusterDetails: showClusterDetailsSchema.optional(),
};

export const labSchema = z.strictObject({
  id: text('a lab id').regex(kebab, 'must be kebab-case, e.g. lab-85').max(64),
  title: text('a title').min(1).optional(),
  /** A bundled rubric id or a rubric file (relative to the course file). Default: the lab id. */
  rubric: text('a rubric id or file').min(1).optional(),
  repositories: repositoriesSchema.optional(),
  deadline: dateTimeSchema.optional(),
  /** Overrides the course's zone for this lab. */
  timeZone: timeZoneSchema.optional(),
  ...labSettings,
});

export const rosterEntrySchema = z.strictObject({
  login: loginSchema,
  name: text('a name').min(1).optional(),
  email: z.email('must be an email address').optional(),
  studentId: text('a student id').min(1).optional(),
});

export const courseConfigSchema = z.strictObject({
  apiVersion: z.literal('labgrader.dev/v1'),
  kind: z.literal('Course'),
  id: text('a course id').regex(kebab, 'must be kebab-case, e.g. k8s-prod-2027').max(64),
  title: text('a title').min(1).optional(),
  /** The GitHub organisation holding the course's repositories (GitHub Classroom's organisation). */
  organization: text('a GitHub organisation').regex(GITHUB_LOGIN, 'must be a GitHub organisation name'),
  /** Default zone for deadlines and cluster budget windows. */
  timeZone: timeZoneSchema,
  instructors: z.array(instructorSchema).min(1, 'name at least one instructor (a login or an org/team-slug)'),
  defaults: z.strictObject(labSettings).optional(),
  /** Globs of repository names never graded (`*-template`, `course-site`). */
  ignore: z.array(text('a glob such as *-template')).optional(),
  roster: z.array(rosterEntrySchema).optional(),
  labs: z.array(labSchema).min(1, 'a course needs at least one lab'),
});

export type CourseFile = z.infer<typeof courseConfigSchema>;
export type LabFile = z.infer<typeof labSchema>;
export type LatePolicyFile = z.infer<typeof latePolicySchema>;
