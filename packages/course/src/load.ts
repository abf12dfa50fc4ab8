/**
 * Loads a course file: YAML → structural schema → the checks that need
 * several fields (a deadline in its lab's zone, unique lab ids and
 * repositories, rubrics that exist) → a resolved CourseConfig.
 *
 * Like rubrics, every problem is reported as `file:line:column: path:
 * message` at the offending key or value, with a "did you mean" for typos,
 * and all problems are collected before failing. Each lab is validated on
 * its own, so a broken lab does not hide the problems of the others.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, decodeUtf8 } from '@labgrader/core';
import { explainIssues, parseYamlWithPositions, type Located, type PathSegment } from '@labgrader/rubric';
import {
  courseConfigSchema,
  labSchema,
  REPOSITORY_NAME,
  rosterEntrySchema,
  type CourseFile,
  type LabFile,
  type LatePolicyFile,
} from './schema.js';
import {
  formatInZone,
  formatLocal,
  formatOffset,
  localFields,
  offsetAt,
  parseDateTimeText,
  resolveLocal,
  type DateTimeText,
} from './time.js';
import type {
  ClusterBudget,
  CourseConfig,
  Deadline,
  Instructor,
  Lab,
  LabRubric,
  LatePolicy,
  RepositoryMatcher,
  RosterEntry,
} from './types.js';

/** A bundled or configured rubric id, as grading jobs carry it. */
export const RUBRIC_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export type RubricResolution = { id: string; file?: string } | { problem: string };

/**
 * Finds the rubric a lab names (`rubric: lab-85`, `rubric: rubrics/mine.yaml`);
 * `baseDir` is the course file's directory, when known. The CLI resolves
 * bundled ids and files the way `labgrader grade --rubric` does, and checks
 * the rubric is valid.
 */
export type RubricResolver = (ref: string, context: { baseDir?: string }) => RubricResolution;

/** The default resolver: rubric ids are taken as they are; files need a resolver that can read them. */
export const rubricIdsOnly: RubricResolver = (ref) =>
  RUBRIC_ID.test(ref)
    ? { id: ref }
    : {
        problem: `'${ref}' is not a rubric id (lowercase letters, digits, '-'); a rubric file needs a rubric resolver, which \`labgrader course validate\` has`,
      };

export interface ParseCourseOptions {
  /** Default: `rubricIdsOnly`. */
  rubrics?: RubricResolver;
  /** The course file's directory, for rubric files named relative to it. */
  baseDir?: string;
}

const DEFAULT_LATE_POLICY: LatePolicy = {
  graceMinutes: 0,
  penaltyPercent: 0,
  penaltyPercentPerDay: 0,
  maxPenaltyPercent: 100,
  penaltyOf: 'max-points',
};

/** The top level, with each lab left to `labSchema` so one broken lab does not hide the others' problems. */
const topLevelSchema = courseConfigSchema.extend({
  labs: z.array(z.unknown()).min(1, 'a course needs at least one lab'),
});

function fail(source: string, problems: string[]): never {
  throw new ConfigError(`course ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`, {
    problems,
    hint: 'Fix the fields listed above; docs/course.md describes every field of a course file.',
  });
}

/**
 * `organisation:` for `organization:` is one mistake: keep "unknown field
 * 'organisation'; did you mean 'organization'?" and drop the "missing
 * required field 'organization'" it causes.
 */
function withoutTypoEchoes(items: Located[]): Located[] {
  const suggested = new Set<string>();
  for (const l of items) {
    const m = /^unknown field '.*'; did you mean '(.*)'\?$/.exec(l.message);
    if (m) suggested.add(JSON.stringify([...l.path, m[1]]));
  }
  return items.filter((l) => {
    const m = /^missing required field '(.*)'$/.exec(l.message);
    return !(m && suggested.has(JSON.stringify([...l.path, m[1]])));
  });
}

/** Problems in file order (they all start with `source:line:col:`). */
function byPosition(source: string, problems: string[]): string[] {
  const key = (p: string) => {
    const m = /^(\d+):(\d+):/.exec(p.slice(source.length + 1));
    return m ? Number(m[1]) * 100_000 + Number(m[2]) : 0;
  };
  return problems
    .map((p, i) => ({ p, i, k: key(p) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.p);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Turns a written date-time into an instant: in its own zone, else `zone`. */
function resolveDateTime(
  written: string,
  zone: string,
  what: string,
): { at: number; local: string; timeZone: string } | { problem: string } {
  const parsed = parseDateTimeText(written) as DateTimeText; // the schema checked it
  const timeZone = parsed.timeZone ?? zone;
  const wall = formatLocal(parsed.local);
  if (parsed.offsetMs !== undefined) {
    const d = new Date(0);
    d.setUTCFullYear(parsed.local.year, parsed.local.month - 1, parsed.local.day);
    d.setUTCHours(parsed.local.hour, parsed.local.minute, parsed.local.second, 0);
    const at = d.getTime() - parsed.offsetMs;
    if (parsed.timeZone && offsetAt(at, timeZone) !== parsed.offsetMs) {
      return {
        problem: `${what} '${written}': ${timeZone} is not at ${formatOffset(parsed.offsetMs)} then (it is at ${formatOffset(offsetAt(at, timeZone))}); drop the offset or correct it`,
      };
    }
    return { at, local: formatLocal(localFields(at, timeZone)), timeZone };
  }
  const r = resolveLocal(parsed.local, timeZone);
  if (r.kind === 'gap') {
    const next = formatLocal(localFields(r.next, timeZone));
    return {
      problem: `${what} '${wall}' does not exist in ${timeZone}: the clocks go forward that night, straight to ${next.slice(11)}; use a time outside the gap, e.g. '${next}'`,
    };
  }
  // A time that happens twice (clocks go back) is the second one: the later, kinder deadline.
  return { at: r.kind === 'unique' ? r.at : r.later, local: wall, timeZone };
}

function resolveRepositories(lab: LabFile, at: PathSegment[], problems: Located[]): RepositoryMatcher | undefined {
  const given = lab.repositories ?? {};
  const keys = (['classroom', 'glob', 'regex', 'list'] as const).filter((k) => given[k] !== undefined);
  if (keys.length > 1) {
    problems.push({
      path: [...at, 'repositories'],
      message: `set one of classroom, glob, regex or list, not ${keys.join(' and ')}`,
    });
    return undefined;
  }
  const here = [...at, 'repositories', keys[0] ?? 'classroom'];
  if (given.glob !== undefined) {
    const glob = given.glob;
    const stars = glob.split('*').length - 1;
    if (!/^[A-Za-z0-9._*-]+$/.test(glob)) {
      problems.push({
        path: here,
        message: `'${glob}' can only hold what a repository name can (A-Z a-z 0-9 . _ -) and '*'`,
      });
      return undefined;
    }
    if (stars !== 1) {
      problems.push({
        path: here,
        message: `a glob needs exactly one '*', which stands for the student's login ('${glob}' has ${stars})`,
      });
      return undefined;
    }
    return { kind: 'glob', glob };
  }
  if (given.regex !== undefined) {
    const source = given.regex;
    try {
      new RegExp(source, 'i');
    } catch (err) {
      problems.push({ path: here, message: `not a valid regular expression: ${(err as Error).message}` });
      return undefined;
    }
    if (!/\(\?<login>/.test(source)) {
      problems.push({
        path: here,
        message: `needs a named group 'login' for the student's login, e.g. '^lab85-(?<login>[a-z0-9-]+)$'`,
      });
      return undefined;
    }
    return { kind: 'regex', regex: source };
  }
  if (given.list !== undefined) {
    const seen = new Set<string>();
    let ok = true;
    given.list.forEach((entry, j) => {
      const name = entry.name;
      if (!REPOSITORY_NAME.test(name) || name === '.' || name === '..') {
        problems.push({ path: [...here, j, 'name'], message: `'${name}' is not a GitHub repository name` });
        ok = false;
      } else if (seen.has(name.toLowerCase())) {
        problems.push({ path: [...here, j, 'name'], message: `repository '${name}' is listed twice` });
        ok = false;
      }
      seen.add(name.toLowerCase());
    });
    return ok
      ? { kind: 'list', repositories: given.list.map((e) => ({ name: e.name, student: e.student })) }
      : undefined;
  }
  const assignment = given.classroom ?? lab.id;
  if (!/^[A-Za-z0-9._-]{1,99}$/.test(assignment)) {
    problems.push({ path: here, message: `'${assignment}' is not a repository name prefix (A-Z a-z 0-9 . _ -)` });
    return undefined;
  }
  if (assignment.endsWith('-')) {
    problems.push({
      path: here,
      message: `write the prefix without its trailing '-': '${assignment.replace(/-+$/, '')}' (repositories are '<prefix>-<login>')`,
    });
    return undefined;
  }
  return { kind: 'classroom', assignment };
}

function resolveLatePolicy(
  file: LatePolicyFile,
  deadline: Deadline | undefined,
  at: PathSegment[],
  labId: string,
  problems: Located[],
): LatePolicy | undefined {
  if (file === 'accept') return { ...DEFAULT_LATE_POLICY };
  if (file === 'reject') return { ...DEFAULT_LATE_POLICY, cutoff: { maxDaysLate: 0 } };
  const policy: LatePolicy = {
    graceMinutes: file.graceMinutes ?? 0,
    penaltyPercent: file.penaltyPercent ?? 0,
    penaltyPercentPerDay: file.penaltyPercentPerDay ?? 0,
    maxPenaltyPercent: file.maxPenaltyPercent ?? 100,
    penaltyOf: file.penaltyOf ?? 'max-points',
  };
  if (file.maxDaysLate !== undefined && file.acceptUntil !== undefined) {
    problems.push({ path: at, key: 'acceptUntil', message: 'set either maxDaysLate or acceptUntil, not both' });
    return undefined;
  }
  if (file.maxDaysLate !== undefined) policy.cutoff = { maxDaysLate: file.maxDaysLate };
  if (file.acceptUntil !== undefined && deadline) {
    const until = resolveDateTime(file.acceptUntil, deadline.timeZone, 'acceptUntil');
    if ('problem' in until) {
      problems.push({ path: [...at, 'acceptUntil'], message: until.problem });
      return undefined;
    }
    if (until.at <= deadline.at.getTime()) {
      problems.push({
        path: [...at, 'acceptUntil'],
        message: `acceptUntil (${formatInZone(until.at, deadline.timeZone)}) is not after the deadline of lab '${labId}' (${formatInZone(deadline.at.getTime(), deadline.timeZone)})`,
      });
      return undefined;
    }
    policy.cutoff = { acceptUntil: new Date(until.at) };
  }
  return policy;
}

/** Parses a course file's text; `source` is what messages call the file. */
export function parseCourseConfig(text: string, source: string, options: ParseCourseOptions = {}): CourseConfig {
  const resolver = options.rubrics ?? rubricIdsOnly;
  const { doc, syntaxProblems, locate } = parseYamlWithPositions(text, source);
  if (syntaxProblems.length > 0) fail(source, syntaxProblems);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    fail(source, [`${source}:1:1: YAML: ${(err as Error).message}`]);
  }

  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (kind === 'Rubric') {
    fail(
      source,
      locate([
        { path: ['kind'], message: 'this is a rubric, not a course file; check it with `labgrader rubric validate`' },
      ]),
    );
  }

  const structural: Located[] = [];
  const problems: Located[] = [];
  const top = topLevelSchema.safeParse(raw);
  if (!top.success) structural.push(...explainIssues(top.error.issues, [], courseConfigSchema));

  // What the labs need from the top level, even when some other top-level field is broken.
  const rawObject = (raw ?? {}) as Record<string, unknown>;
  const field = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => {
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  };
  const courseZone = top.success ? top.data.timeZone : field(courseConfigSchema.shape.timeZone, rawObject.timeZone);
  const defaults: NonNullable<CourseFile['defaults']> =
    (top.success ? top.data.defaults : field(courseConfigSchema.shape.defaults, rawObject.defaults)) ?? {};

  // Labs, each on its own.
  const rawLabs = Array.isArray(rawObject.labs) ? (rawObject.labs as unknown[]) : [];
  const labs: Lab[] = [];
  const labIds = new Map<string, number>();
  const rubricFiles = new Map<string, { file: string | undefined; lab: string }>();
  let labsOk = true;
  // Two labs claiming the same repositories.
  const claimed = new Map<string, string>();
  const claim = (labId: string, at: PathSegment[], m: RepositoryMatcher) => {
    const keys: [string, string, PathSegment[]][] =
      m.kind === 'classroom'
        ? [
            [
              `classroom:${m.assignment.toLowerCase()}`,
              `Classroom prefix '${m.assignment}'`,
              [...at, 'repositories', 'classroom'],
            ],
          ]
        : m.kind === 'glob'
          ? [[`glob:${m.glob.toLowerCase()}`, `glob '${m.glob}'`, [...at, 'repositories', 'glob']]]
          : m.kind === 'list'
            ? m.repositories.map((r, j) => [
                `repo:${r.name.toLowerCase()}`,
                `repository '${r.name}'`,
                [...at, 'repositories', 'list', j, 'name'],
              ])
            : [];
    for (const [key, what, where] of keys) {
      const other = claimed.get(key);
      if (other === undefined) claimed.set(key, labId);
      else if (other !== labId) {
        problems.push({
          path: where,
          message: `the ${what} is also used by lab '${other}': each repository belongs to one lab`,
        });
      }
    }
  };

  rawLabs.forEach((rawLab, i) => {
    const at: PathSegment[] = ['labs', i];
    const parsed = labSchema.safeParse(rawLab);
    if (!parsed.success) {
      structural.push(...explainIssues(parsed.error.issues, at, labSchema));
      labsOk = false;
      return;
    }
    const lab = parsed.data;
    const before = problems.length;

    if (labIds.has(lab.id)) {
      problems.push({
        path: [...at, 'id'],
        message: `duplicate lab id '${lab.id}' (also labs[${labIds.get(lab.id)}])`,
      });
    } else labIds.set(lab.id, i);

    const repositories = resolveRepositories(lab, at, problems);
    if (repositories) claim(lab.id, at, repositories);

    const ref = lab.rubric ?? lab.id;
    const resolved = resolver(ref, options.baseDir === undefined ? {} : { baseDir: options.baseDir });
    let rubric: LabRubric | undefined;
    if ('problem' in resolved) {
      problems.push(
        lab.rubric === undefined
          ? { path: at, key: 'id', message: `no 'rubric', so the lab id is the rubric: ${resolved.problem}` }
          : { path: [...at, 'rubric'], message: resolved.problem },
      );
    } else {
      rubric = { ref, id: resolved.id, ...(resolved.file !== undefined ? { file: resolved.file } : {}) };
      const other = rubricFiles.get(resolved.id);
      if (other && other.file !== resolved.file) {
        problems.push({
          path: lab.rubric === undefined ? [...at, 'id'] : [...at, 'rubric'],
          message: `rubric id '${resolved.id}' is also the id of the rubric of lab '${other.lab}', from ${other.file ?? 'elsewhere'}; reports are stored by rubric id, so give one of the rubrics another id`,
        });
      } else rubricFiles.set(resolved.id, { file: resolved.file, lab: lab.id });
    }

    const timeZone = lab.timeZone ?? courseZone;
    let deadline: Deadline | undefined;
    if (lab.deadline !== undefined && timeZone !== undefined) {
      const d = resolveDateTime(lab.deadline, timeZone, 'deadline');
      if ('problem' in d) problems.push({ path: [...at, 'deadline'], message: d.problem });
      else deadline = { at: new Date(d.at), local: d.local, timeZone: d.timeZone };
    }

    const ownPolicy = lab.latePolicy !== undefined;
    if (ownPolicy && lab.deadline === undefined) {
      problems.push({
        path: at,
        key: 'latePolicy',
        message: `lab '${lab.id}' has no deadline, so its late policy never applies; add a deadline or remove latePolicy`,
      });
    }
    let latePolicy: LatePolicy | undefined = { ...DEFAULT_LATE_POLICY };
    const policyFile = lab.latePolicy ?? defaults.latePolicy;
    if (policyFile !== undefined && deadline) {
      latePolicy = resolveLatePolicy(
        policyFile,
        deadline,
        ownPolicy ? [...at, 'latePolicy'] : ['defaults', 'latePolicy'],
        lab.id,
        problems,
      );
    }

    const show = lab.showClusterDetails ?? defaults.showClusterDetails ?? 'always';
    if (show === 'after-deadline' && lab.deadline === undefined) {
      problems.push(
        lab.showClusterDetails !== undefined
          ? {
              path: [...at, 'showClusterDetails'],
              message: `lab '${lab.id}' has no deadline to show cluster details after; add a deadline or use 'always'`,
            }
          : {
              path: at,
              key: 'id',
              message: `lab '${lab.id}' has no deadline, and defaults.showClusterDetails is 'after-deadline'; add a deadline or set showClusterDetails: always on the lab`,
            },
      );
    }

    const budgetFile = lab.clusterBudget ?? defaults.clusterBudget;
    const clusterBudget: ClusterBudget | undefined =
      budgetFile === undefined || budgetFile === 'unlimited'
        ? undefined
        : { runs: budgetFile.runs, per: budgetFile.per };
    const passPercent = lab.passPercent ?? defaults.passPercent;

    if (problems.length > before || !repositories || !rubric || !latePolicy || timeZone === undefined) return;
    labs.push({
      id: lab.id,
      ...(lab.title !== undefined ? { title: lab.title } : {}),
      rubric,
      repositories,
      timeZone,
      ...(deadline ? { deadline } : {}),
      latePolicy,
      ...(passPercent !== undefined ? { passPercent } : {}),
      ...(clusterBudget ? { clusterBudget } : {}),
      showClusterDetails: show,
    });
  });

  // The lists, entry by entry, whatever else is broken.
  const entries = (value: unknown) => (Array.isArray(value) ? (value as unknown[]) : []);
  const ignore: string[] = [];
  entries(rawObject.ignore).forEach((glob, j) => {
    if (typeof glob !== 'string') return; // reported by the schema
    if (!/^[A-Za-z0-9._*-]+$/.test(glob)) {
      problems.push({
        path: ['ignore', j],
        message: `'${glob}' can only hold what a repository name can (A-Z a-z 0-9 . _ -) and '*'`,
      });
    } else ignore.push(glob);
  });
  const roster: RosterEntry[] = [];
  const logins = new Map<string, number>();
  entries(rawObject.roster).forEach((rawEntry, j) => {
    const entry = field(rosterEntrySchema, rawEntry);
    if (!entry) return; // reported by the schema
    const key = entry.login.toLowerCase();
    if (logins.has(key)) {
      problems.push({
        path: ['roster', j, 'login'],
        message: `'${entry.login}' is already in the roster (roster[${logins.get(key)}]); logins are case-insensitive`,
      });
    } else logins.set(key, j);
    roster.push({ ...entry });
  });

  const file = top.success ? top.data : undefined;
  const all = withoutTypoEchoes([...structural, ...problems]);
  if (all.length > 0 || !file || !labsOk) fail(source, byPosition(source, locate(all)));

  const instructors: Instructor[] = [];
  const seen = new Set<string>();
  for (const entry of file.instructors) {
    const bare = entry.replace(/^@/, '');
    if (seen.has(bare.toLowerCase())) continue;
    seen.add(bare.toLowerCase());
    const [org, slug] = bare.split('/');
    instructors.push(slug === undefined ? { kind: 'user', login: org! } : { kind: 'team', org: org!, slug });
  }

  return {
    id: file.id,
    ...(file.title !== undefined ? { title: file.title } : {}),
    source,
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    configured: true,
    organization: file.organization,
    timeZone: file.timeZone,
    instructors,
    labs,
    ignore,
    roster,
  };
}

/** Reads and parses a course file; `displayName` is what messages call it (default: `file`). */
export async function loadCourseFile(
  file: string,
  options: ParseCourseOptions & { displayName?: string } = {},
): Promise<CourseConfig> {
  const displayName = options.displayName ?? file;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read course file ${displayName}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`,
      {
        hint: 'Pass an existing course file, e.g. courses/example.yaml.',
      },
    );
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new ConfigError(`course file ${displayName} is not valid UTF-8 text`);
  return parseCourseConfig(text, displayName, {
    ...options,
    baseDir: options.baseDir ?? path.dirname(path.resolve(file)),
  });
}

/** One line about a lab's settings, for `labgrader course validate` and logs. */
export function describeLab(lab: Lab): string {
  const m = lab.repositories;
  const repos =
    m.kind === 'classroom'
      ? `${m.assignment}-<login>`
      : m.kind === 'glob'
        ? m.glob.replace('*', '<login>')
        : m.kind === 'regex'
          ? `/${m.regex}/i`
          : m.kind === 'list'
            ? `${m.repositories.length} listed`
            : "every repository, its owner's";
  const parts = [`rubric ${lab.rubric.id}`, `repositories ${repos}`];
  if (lab.deadline) {
    parts.push(
      `deadline ${lab.deadline.local.replace('T', ' ')} ${lab.deadline.timeZone} (${lab.deadline.at.toISOString()})`,
    );
    parts.push(`late: ${describeLatePolicy(lab.latePolicy, lab.deadline.timeZone)}`);
  } else parts.push('no deadline');
  if (lab.passPercent !== undefined) parts.push(`pass mark ${lab.passPercent}%`);
  parts.push(
    lab.clusterBudget
      ? `cluster stage ${plural(lab.clusterBudget.runs, 'run')} per ${lab.clusterBudget.per} per student`
      : 'cluster stage unlimited',
  );
  parts.push(
    lab.showClusterDetails === 'always' ? 'cluster details always shown' : 'cluster details shown after the deadline',
  );
  return parts.join(', ');
}

export function describeLatePolicy(p: LatePolicy, timeZone: string): string {
  const cutoff = p.cutoff;
  const grace = p.graceMinutes ? ` after ${p.graceMinutes} min of grace` : '';
  if (cutoff && 'maxDaysLate' in cutoff && cutoff.maxDaysLate === 0) return `not accepted${grace}`;
  const penalty: string[] = [];
  if (p.penaltyPercent) penalty.push(`${p.penaltyPercent}%`);
  if (p.penaltyPercentPerDay) penalty.push(`${p.penaltyPercentPerDay}% per started day`);
  let text = penalty.length
    ? `−${penalty.join(' + ')} of the ${p.penaltyOf === 'max-points' ? 'maximum points' : 'points earned'}${p.maxPenaltyPercent < 100 ? ` (at most ${p.maxPenaltyPercent}%)` : ''}${grace}`
    : `accepted without penalty${grace}`;
  if (cutoff && 'maxDaysLate' in cutoff) text += `; not accepted more than ${plural(cutoff.maxDaysLate, 'day')} late`;
  if (cutoff && 'acceptUntil' in cutoff)
    text += `; not accepted after ${formatInZone(cutoff.acceptUntil.getTime(), timeZone)}`;
  return text;
}
