export { StageTimeoutError, withBudget } from './budget.js';
export type { PipelineEvent } from './events.js';
export {
  gradeRepository,
  gradeSource,
  gradeSourceWithExcerpts,
  readExcerpts,
  type GradeOptions,
  type GradeRepoInput,
  type PipelineDeps,
} from './pipeline.js';
