/**
 * Which lab a repository belongs to and whose it is. Names come from
 * webhooks, so they are checked before anything else and quoted (escaped)
 * in reasons, which end up in logs.
 */
import { GITHUB_LOGIN, REPOSITORY_NAME } from './schema.js';
import type { CourseConfig, Lab } from './types.js';

export type IgnoredCode =
  /** Not a GitHub owner/name at all. */
  | 'invalid-name'
  /** Not in the course organisation. */
  | 'other-organization'
  /** Matches the course's `ignore` list. */
  | 'ignored'
  /** Matches no lab. */
  | 'no-lab'
  /** Matches a lab, but what stands for the student is not a GitHub login. */
  | 'no-student';

export type RouteResult =
  /** `student`: the login as the repository name spells it (compare logins case-insensitively). */
  | { lab: Lab; student: string }
  /** `ignored`: the reason, for the log. */
  | { ignored: string; code: IgnoredCode };

export interface RepositoryRef {
  owner: string;
  name: string;
}

/** A value from a webhook, safe to put in a log line. */
function shown(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A glob of repository names (any number of `*`) as a case-insensitive regex. */
export function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map(escapeRegex).join('[A-Za-z0-9._-]*')}$`, 'i');
}

const regexCache = new WeakMap<Lab, RegExp>();
function labRegex(lab: Lab, source: string): RegExp {
  let re = regexCache.get(lab);
  if (!re) {
    re = new RegExp(`^(?:${source})$`, 'i');
    regexCache.set(lab, re);
  }
  return re;
}

const ignoreCache = new WeakMap<CourseConfig, RegExp[]>();
function ignorePatterns(course: CourseConfig): RegExp[] {
  let patterns = ignoreCache.get(course);
  if (!patterns) {
    patterns = course.ignore.map(globToRegex);
    ignoreCache.set(course, patterns);
  }
  return patterns;
}

/** A candidate: the lab, the student part, and how much of the name was fixed text (longest wins). */
interface Match {
  lab: Lab;
  student: string;
  fixed: number;
}

function matchPattern(lab: Lab, name: string): Match | undefined {
  const m = lab.repositories;
  const lower = name.toLowerCase();
  if (m.kind === 'classroom') {
    const prefix = `${m.assignment.toLowerCase()}-`;
    return lower.startsWith(prefix) ? { lab, student: name.slice(prefix.length), fixed: prefix.length } : undefined;
  }
  if (m.kind === 'glob') {
    const [head, tail] = m.glob.toLowerCase().split('*') as [string, string];
    if (lower.length >= head.length + tail.length && lower.startsWith(head) && lower.endsWith(tail)) {
      return { lab, student: name.slice(head.length, name.length - tail.length), fixed: head.length + tail.length };
    }
  }
  return undefined;
}

/**
 * Routes a repository to its lab and student:
 *
 * 1. the owner must be the course organisation (case-insensitive, like GitHub);
 * 2. names on the course's `ignore` list are ignored;
 * 3. a lab that lists the repository explicitly wins;
 * 4. then Classroom prefixes and globs: the one with the longest fixed text
 *    (`lab-85-alice` is lab-85's over lab-8's or lab's), the first in file
 *    order on a tie;
 * 5. then regexes, in file order.
 *
 * Without a course configuration (`defaultCourse`), every repository is the
 * first lab's and its owner is the student.
 */
export function routeRepository(course: CourseConfig, repository: RepositoryRef | string): RouteResult {
  const { owner, name } =
    typeof repository === 'string'
      ? { owner: repository.split('/')[0] ?? '', name: repository.split('/').slice(1).join('/') }
      : repository;
  const full = `${owner}/${name}`;
  if (
    typeof owner !== 'string' ||
    typeof name !== 'string' ||
    !GITHUB_LOGIN.test(owner) ||
    !REPOSITORY_NAME.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    return { ignored: `${shown(full)} is not a GitHub repository name`, code: 'invalid-name' };
  }
  if (!course.configured) {
    const lab = course.labs[0];
    if (!lab) return { ignored: 'no rubric is configured', code: 'no-lab' };
    return { lab, student: owner };
  }
  if (course.organization !== undefined && owner.toLowerCase() !== course.organization.toLowerCase()) {
    return {
      ignored: `${shown(full)} is not in the course organisation ${course.organization}`,
      code: 'other-organization',
    };
  }
  const ignoredBy = course.ignore.find((_, i) => ignorePatterns(course)[i]!.test(name));
  if (ignoredBy !== undefined) {
    return { ignored: `${shown(full)} matches the course's ignore pattern '${ignoredBy}'`, code: 'ignored' };
  }

  const lower = name.toLowerCase();
  for (const lab of course.labs) {
    const m = lab.repositories;
    if (m.kind !== 'list') continue;
    const entry = m.repositories.find((r) => r.name.toLowerCase() === lower);
    if (entry) return { lab, student: entry.student };
  }

  let best: Match | undefined;
  for (const lab of course.labs) {
    const match = matchPattern(lab, name);
    if (match && (!best || match.fixed > best.fixed)) best = match;
  }
  if (!best) {
    for (const lab of course.labs) {
      if (lab.repositories.kind !== 'regex') continue;
      const m = labRegex(lab, lab.repositories.regex).exec(name);
      const login = m?.groups?.login;
      if (m) {
        best = { lab, student: login ?? '', fixed: 0 };
        break;
      }
    }
  }
  if (!best) {
    return {
      ignored: `${shown(full)} matches no lab of course ${course.id} (${describePatterns(course)})`,
      code: 'no-lab',
    };
  }
  if (!GITHUB_LOGIN.test(best.student)) {
    return {
      ignored: `${shown(full)} is lab ${best.lab.id}'s by its name, but ${shown(best.student)} in it is not a GitHub login`,
      code: 'no-student',
    };
  }
  return { lab: best.lab, student: best.student };
}

function describePatterns(course: CourseConfig): string {
  const patterns = course.labs.map((lab) => {
    const m = lab.repositories;
    switch (m.kind) {
      case 'classroom':
        return `${m.assignment}-<login>`;
      case 'glob':
        return m.glob.replace('*', '<login>');
      case 'regex':
        return `/${m.regex}/`;
      case 'list':
        return `${m.repositories.length} listed`;
      default:
        return '*';
    }
  });
  const shownPatterns = patterns.slice(0, 8).join(', ');
  return `labs' repositories: ${shownPatterns}${patterns.length > 8 ? `, and ${patterns.length - 8} more` : ''}`;
}

/** GitHub logins are case-insensitive. */
export function sameLogin(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
