export {
  STAGE_ORDER,
  describeObjects,
  loadRubricFile,
  parseRubric,
  rubricMaxPoints,
  rubricForAllChecks,
  type Criterion,
  type ObjectRequirement,
  type Requirement,
  type Rubric,
  type RubricCheck,
  type RubricEnvironment,
  type StageConfig,
} from './load.js';
export { requirementSchema, rubricFileSchema, scoringSchema, type RubricFile, type Scoring } from './schema.js';
export {
  REQUIREMENT_CHECK_ID,
  configKey,
  consistentTally,
  countsAgainst,
  scoreRubric,
  type ScoreContext,
  type ScoreResult,
  type StageOutcome,
} from './score.js';
export {
  explainIssues,
  formatPath,
  nodeAt,
  parseYamlWithPositions,
  type Located,
  type PathSegment,
  type PositionedYaml,
} from './located.js';
export { closest, editDistance } from './suggest.js';
