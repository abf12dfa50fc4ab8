/**
 * One call to lint a repository: what the `labgrader lint` command and the
 * benchmark use. The pipeline uses `lintStage` instead (it adds time budgets
 * and scoring).
 */
import {
  CommandNotFoundError,
  checkMeta,
  compareFindings,
  runChecks,
  type CheckMeta,
  type CheckRun,
  type CommandRunner,
  type ConfiguredCheck,
  type Finding,
  type ManifestInventory,
  type RepoFiles,
  type StagePreparation,
} from '@labgrader/core';
import type { LintContext } from './context.js';
import { LINT_RULES } from './rules/index.js';
import { lintRegistry, prepareLint } from './stage.js';
import { lintSettingsSchema, type LintSettings } from './settings.js';

export interface LintRepositoryOptions {
  /** Stage settings as a rubric writes them (validated and defaulted here). */
  settings?: unknown;
  /** Checks to run, by id or configured; default: every rule with its default options. */
  checks?: ReadonlyArray<string | ConfiguredCheck>;
  /** For kubectl kustomize and helm template; without it kustomizations and charts are reported as not rendered. */
  runner?: CommandRunner;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /** Where helm and kubectl are looked for (LABGRADER_HELM, LABGRADER_KUBECTL, PATH, ~/.cache/labgrader/bin); default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LintResult {
  findings: Finding[];
  inventory: ManifestInventory;
  runs: CheckRun[];
  notGradable?: StagePreparation<LintContext>['notGradable'];
  settings: LintSettings;
  /** Objects and files examined, for summaries. */
  stats: { objects: number; files: number; documents: number };
}

/** Resolves `checks` into configured checks with validated options; throws on unknown ids or bad options. */
export function configureChecks(checks: LintRepositoryOptions['checks']): ConfiguredCheck[] {
  const list = checks ?? LINT_RULES.map((r) => r.id);
  return list.map((item) => {
    const id = typeof item === 'string' ? item : item.id;
    const rule = lintRegistry.get(id);
    if (!rule) throw new Error(`unknown lint check '${id}' (known: ${lintRegistry.ids().join(', ')})`);
    const options = rule.options.parse(typeof item === 'string' ? {} : (item.options ?? {}));
    const configured: ConfiguredCheck = { id, options };
    if (typeof item !== 'string' && item.severity) configured.severity = item.severity;
    return configured;
  });
}

export async function lintRepository(repo: RepoFiles, options: LintRepositoryOptions = {}): Promise<LintResult> {
  const settings = lintSettingsSchema.parse(options.settings ?? {});
  const configured = configureChecks(options.checks);
  const signal = options.signal ?? new AbortController().signal;
  const prepared = await prepareLint({
    repo,
    settings,
    runner: options.runner ?? missingRunner,
    signal,
    progress: options.progress ?? (() => {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const runs = await runChecks(lintRegistry, configured, prepared.context, { signal });
  const findings = runs.flatMap((r) => r.outcome?.findings ?? []).sort(compareFindings);
  const result: LintResult = {
    findings,
    inventory: prepared.inventory ?? { objects: [], files: [] },
    runs,
    settings,
    stats: {
      objects: prepared.context.objects.length,
      files: prepared.context.examinedFiles.length,
      documents: prepared.context.objects.length,
    },
  };
  if (prepared.notGradable) result.notGradable = prepared.notGradable;
  return result;
}

/** Without a runner, renderers are "not installed". */
const missingRunner: CommandRunner = {
  run: (command) => Promise.reject(new CommandNotFoundError(command)),
};

export interface LintRuleMetadata extends CheckMeta {
  /** Options with their defaults, as a rubric would write them. */
  defaultOptions: unknown;
}

/** Every rule's metadata (for SARIF `tool.driver.rules`, docs and `labgrader checks`). */
export function lintRuleMetadata(): LintRuleMetadata[] {
  return LINT_RULES.map((rule) => ({ ...checkMeta(rule), defaultOptions: rule.options.parse({}) }));
}
