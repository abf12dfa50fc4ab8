import type { StageName, StageResult } from '@labgrader/core';

/** Progress events, for a CLI spinner or a GitHub check run "in progress" summary. */
export type PipelineEvent =
  | { type: 'stage-start'; stage: StageName }
  | { type: 'stage-end'; stage: StageName; result: StageResult }
  | { type: 'progress'; stage: StageName; message: string };
