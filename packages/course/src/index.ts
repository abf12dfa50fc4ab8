export {
  RUBRIC_ID,
  describeLab,
  describeLatePolicy,
  loadCourseFile,
  parseCourseConfig,
  rubricIdsOnly,
  type ParseCourseOptions,
  type RubricResolution,
  type RubricResolver,
} from './load.js';
export {
  GITHUB_LOGIN,
  REPOSITORY_NAME,
  clusterBudgetSchema,
  courseConfigSchema,
  labSchema,
  latePolicySchema,
  type CourseFile,
  type LabFile,
  type LatePolicyFile,
} from './schema.js';
export {
  globToRegex,
  routeRepository,
  sameLogin,
  type IgnoredCode,
  type RepositoryRef,
  type RouteResult,
} from './route.js';
export {
  applyLatePolicy,
  clusterBudget,
  judgeSubmission,
  passes,
  showClusterDetails,
  type ClusterBudgetDecision,
  type LateAdjusted,
  type SubmissionJudgement,
} from './policy.js';
export { instructorTeams, isInstructor, rosterEntry, type TeamMembership } from './people.js';
export { defaultCourse } from './default.js';
export { formatInZone, resolveLocal, type LocalDateTime, type LocalResolution } from './time.js';
export type {
  ClusterBudget,
  CourseConfig,
  Deadline,
  Instructor,
  Lab,
  LabRubric,
  LatePolicy,
  RepositoryMatcher,
  RosterEntry,
  ShowClusterDetails,
} from './types.js';
