/**
 * The lint stage as the pipeline sees it: settings, the registry of rules,
 * and `prepare`, which finds and parses the manifests into a LintContext and
 * publishes the inventory of objects for the later stages.
 */
import {
  CheckRegistry,
  type GradingStage,
  type ManifestInventory,
  type StageInput,
  type StagePreparation,
} from '@labgrader/core';
import type { LintContext } from './context.js';
import { discoverObjects } from './discover.js';
import { ObjectIndex } from './model/index.js';
import { referencesOf } from './model/references.js';
import type { KubeObject } from './model/object.js';
import { LINT_RULES } from './rules/index.js';
import type { Env } from './render/tools.js';
import { loadKubeSchema } from './schema/kubernetes.js';
import { lintSettingsSchema, type LintSettings } from './settings.js';

export const lintRegistry = new CheckRegistry<LintContext>('lint', LINT_RULES);

export function inventoryOf(objects: readonly KubeObject[]): ManifestInventory {
  const refs = objects.map((o) => o.toRef());
  return {
    objects: refs,
    files: [...new Set(refs.map((r) => r.location.file))].sort(),
    references: referencesOf(objects),
  };
}

export async function prepareLint(
  input: Pick<StageInput<LintSettings>, 'repo' | 'settings' | 'runner' | 'signal' | 'progress'> &
    Partial<Pick<StageInput<LintSettings>, 'logger'>> & {
      /** Where helm and kubectl are looked for (see DiscoverOptions.env); default: process.env. */
      env?: Env;
    },
): Promise<StagePreparation<LintContext>> {
  const settings = input.settings;
  const discovery = await discoverObjects({
    repo: input.repo,
    settings,
    runner: input.runner,
    signal: input.signal,
    progress: input.progress,
    ...(input.logger ? { logger: input.logger } : {}),
    ...(input.env ? { env: input.env } : {}),
  });
  const context: LintContext = {
    settings,
    objects: discovery.objects,
    files: [...new Set(discovery.objects.map((o) => o.file))].sort(),
    examinedFiles: discovery.examinedFiles,
    renderTargets: discovery.renderTargets,
    problems: discovery.problems,
    index: new ObjectIndex(discovery.objects),
    schema: loadKubeSchema(settings.kubernetesVersion),
  };
  const inventory = inventoryOf(discovery.objects);
  if (discovery.objects.length === 0 && !discovery.problems.some((p) => p.severity === 'error')) {
    const unrendered = discovery.problems.filter((p) => p.checkId === 'lint/render');
    return {
      context,
      inventory,
      notGradable: {
        reason: 'no-manifests',
        message:
          unrendered.length > 0
            ? `no Kubernetes objects could be read: ${unrendered[0]!.message}`
            : 'the repository contains no Kubernetes manifests (YAML or JSON documents with apiVersion and kind)',
        hint:
          unrendered.length > 0
            ? (unrendered.find((p) => p.installHint)?.installHint ??
              'Fix the rendering error above, or commit rendered manifests.')
            : `Commit the manifests (for example under k8s/). Ignored paths: ${[...settings.exclude, ...settings.extraExclude].slice(0, 6).join(', ')}…`,
      },
    };
  }
  return { context, inventory };
}

export interface LintStageOptions {
  /** Where helm and kubectl are looked for (LABGRADER_HELM, LABGRADER_KUBECTL, PATH, LABGRADER_CACHE_DIR, HOME); default: process.env, read at each run. */
  env?: Env;
}

export function createLintStage(options: LintStageOptions = {}): GradingStage<LintSettings, LintContext> {
  return {
    name: 'lint',
    settingsSchema: lintSettingsSchema,
    registry: lintRegistry,
    prepare: (input) => prepareLint({ ...input, ...(options.env ? { env: options.env } : {}) }),
  };
}

export const lintStage: GradingStage<LintSettings, LintContext> = createLintStage();
