/** Instructors and the roster. Logins are compared case-insensitively, like GitHub does. */
import type { CourseConfig, Instructor, RosterEntry } from './types.js';

/** Asks GitHub whether a login is a member of a team (`GET /orgs/{org}/teams/{slug}/memberships/{login}`). */
export type TeamMembership = (team: { org: string; slug: string }, login: string) => Promise<boolean>;

/**
 * Whether a login is one of the course's instructors: named directly, or a
 * member of a named team. Teams are only asked about when `memberOf` is
 * given and the login is not named directly; an error from `memberOf`
 * propagates (treat it as "not an instructor" for access decisions).
 */
export async function isInstructor(course: CourseConfig, login: string, memberOf?: TeamMembership): Promise<boolean> {
  const wanted = login.toLowerCase();
  if (course.instructors.some((i) => i.kind === 'user' && i.login.toLowerCase() === wanted)) return true;
  if (!memberOf) return false;
  for (const team of instructorTeams(course)) {
    if (await memberOf(team, login)) return true;
  }
  return false;
}

/** The teams whose members are instructors. */
export function instructorTeams(course: CourseConfig): { org: string; slug: string }[] {
  return course.instructors
    .filter((i): i is Extract<Instructor, { kind: 'team' }> => i.kind === 'team')
    .map(({ org, slug }) => ({ org, slug }));
}

/** The roster's entry for a login (name, email, student id), if any. */
export function rosterEntry(course: CourseConfig, login: string): RosterEntry | undefined {
  const wanted = login.toLowerCase();
  return course.roster.find((r) => r.login.toLowerCase() === wanted);
}
