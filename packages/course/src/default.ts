/** The course without a course file: today's behaviour, as a CourseConfig. */
import type { CourseConfig, Lab } from './types.js';

/**
 * Each rubric is a lab (the lab id is the rubric id) and each repository's
 * owner is its student; every repository is routed to the first rubric's lab
 * (the service's `LABGRADER_RUBRIC`). No deadlines, no late policy, no pass
 * mark, no cluster budget, cluster details always shown, no instructors.
 */
export function defaultCourse(rubricIds: string | readonly string[]): CourseConfig {
  const ids = [...new Set(typeof rubricIds === 'string' ? [rubricIds] : rubricIds)];
  if (ids.length === 0) throw new RangeError('defaultCourse needs at least one rubric id');
  const labs: Lab[] = ids.map((id) => ({
    id,
    rubric: { ref: id, id },
    repositories: { kind: 'owner' },
    timeZone: 'UTC',
    latePolicy: {
      graceMinutes: 0,
      penaltyPercent: 0,
      penaltyPercentPerDay: 0,
      maxPenaltyPercent: 100,
      penaltyOf: 'max-points',
    },
    showClusterDetails: 'always',
  }));
  return {
    id: 'default',
    source: '(default)',
    digest: `default:${ids.join(',')}`,
    configured: false,
    timeZone: 'UTC',
    instructors: [],
    labs,
    ignore: [],
    roster: [],
  };
}
