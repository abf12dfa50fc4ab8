export {
  STAGE_ORDER,
  loadRubricFile,
  parseRubric,
  rubricMaxPoints,
  rubricForAllChecks,
  type Criterion,
  type Rubric,
  type RubricCheck,
  type RubricEnvironment,
  type StageConfig,
} from './load.js';
export { rubricFileSchema, scoringSchema, type RubricFile, type Scoring } from './schema.js';
export { configKey, scoreRubric, type ScoreResult, type StageOutcome } from './score.js';
export { closest, editDistance } from './suggest.js';
