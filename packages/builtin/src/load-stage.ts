/**
 * One built-in stage by itself, imported when asked for: for the commands
 * that run a single stage (`labgrader lint`, `labgrader docs`), which then
 * load neither the other stages nor their checks. The same stage objects as
 * `createBuiltinStages()`; exported as `@labgrader/builtin/load-stage`, apart
 * from the package's index, which loads every stage.
 */
import type { AnyGradingStage, CheckStage } from '@labgrader/core';
import type { BuiltinStageOptions } from './stages.js';

export async function loadBuiltinStage(name: CheckStage, options: BuiltinStageOptions = {}): Promise<AnyGradingStage> {
  switch (name) {
    case 'lint':
      return (await import('@labgrader/manifest-lint')).lintStage;
    case 'docs':
      return (await import('@labgrader/docs-checks')).docsStage;
    case 'cluster':
      return (await import('./cluster-stage.js')).lazyClusterStage(options.env);
  }
}
