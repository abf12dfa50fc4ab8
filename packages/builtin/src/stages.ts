/**
 * The stages this build ships, and the catalog of their checks. This is the
 * composition root shared by every command (and, later, the worker).
 */
import { catalogOf, type AnyGradingStage, type CheckCatalog, type CheckStage } from '@labgrader/core';
import { docsStage } from '@labgrader/docs-checks';
import { lintStage } from '@labgrader/manifest-lint';
import type { RubricEnvironment } from '@labgrader/rubric';

export const builtinStages: Partial<Record<CheckStage, AnyGradingStage>> = { docs: docsStage, lint: lintStage };

export const builtinCatalog: CheckCatalog = catalogOf(docsStage.registry, lintStage.registry);

export const rubricEnvironment: RubricEnvironment = {
  catalog: builtinCatalog,
  stageSettings: { docs: docsStage.settingsSchema, lint: lintStage.settingsSchema },
};
