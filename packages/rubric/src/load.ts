/**
 * Loads a rubric file: YAML → structural schema → stage settings and check
 * options (each validated by its owner's schema) → a resolved Rubric.
 *
 * Every problem is reported as `file:line:column: path: message`, pointing at
 * the offending key or value in the YAML, with a "did you mean" for typos in
 * keys and check ids. All problems are collected before failing, so an
 * instructor fixes a rubric in one pass.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import {
  ConfigError,
  decodeUtf8,
  type CheckCatalog,
  type CheckStage,
  type ConfiguredCheck,
  type Severity,
} from '@labgrader/core';
import { rubricFileSchema, type RubricFile, type Scoring } from './schema.js';
import { explainIssues, parseYamlWithPositions, type Located, type PathSegment } from './located.js';
import { closest } from './suggest.js';

export const STAGE_ORDER: readonly CheckStage[] = ['docs', 'lint', 'cluster'];

const DEFAULT_TIMEOUT_SECONDS: Record<CheckStage, number> = { docs: 60, lint: 180, cluster: 900 };

export interface RubricCheck extends ConfiguredCheck {
  weight: number;
}

/** One object `requires.anyOf` looks for in the manifests. */
export interface ObjectRequirement {
  kind: string;
  /** A workload refers to one (defined or not) rather than the manifests defining one. */
  referenced: boolean;
}

/**
 * What a criterion needs in the submission to be graded; when it is missing
 * the criterion scores 0 with a finding carrying `message`.
 */
export type Requirement =
  /** `optional: true`: nothing to grade earns full points. */
  | { mode: 'optional' }
  /** At least one of its checks examined something: the default for docs and lint criteria. */
  | { mode: 'examined'; message: string }
  /** One of these objects is in the manifests (`requires.anyOf`). */
  | { mode: 'objects'; anyOf: ObjectRequirement[]; message: string }
  /**
   * Nothing examined is not graded and not counted: the default for cluster
   * criteria, whose checks examine nothing only when their drill cannot run
   * on this target or is turned off (a lab with nothing to deploy already
   * earns no credit from the checks themselves).
   */
  | { mode: 'not-graded' };

export interface Criterion {
  id: string;
  title: string;
  description?: string;
  stage: CheckStage;
  points: number;
  scoring: Scoring;
  requirement: Requirement;
  checks: RubricCheck[];
}

export interface StageConfig {
  enabled: boolean;
  timeoutMs: number;
  /** Parsed by the stage's settings schema (defaults applied). */
  settings: unknown;
}

export interface Rubric {
  id: string;
  title: string;
  description?: string;
  /** Where it was loaded from (for messages). */
  source: string;
  /** sha256 of the file's bytes. */
  digest: string;
  stages: Record<CheckStage, StageConfig>;
  criteria: Criterion[];
}

export interface RubricEnvironment {
  catalog: CheckCatalog;
  /** The settings schema of each stage this build can run; a missing stage cannot be enabled. */
  stageSettings: Partial<Record<CheckStage, z.ZodType<unknown>>>;
}

const article = (word: string) => (/^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`);

/** "a Deployment, a StatefulSet or a workload that refers to a Secret". */
export function describeObjects(anyOf: readonly ObjectRequirement[]): string {
  const parts = anyOf.map((o) => (o.referenced ? `a workload that refers to ${article(o.kind)}` : article(o.kind)));
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}` : parts[0]!;
}

function resolveRequirement(
  c: RubricFile['criteria'][number],
  stage: CheckStage,
  checkTitles: readonly string[],
): Requirement {
  if (c.optional) return { mode: 'optional' };
  const anyOf = c.requires?.anyOf;
  if (anyOf) {
    const objects = anyOf.map((o) => ({ kind: o.kind, referenced: o.referenced === true }));
    return {
      mode: 'objects',
      anyOf: objects,
      message:
        c.requires?.message ??
        `nothing to grade for "${c.title}": it needs ${describeObjects(objects)} in the manifests, and there is none`,
    };
  }
  if (c.requires || stage !== 'cluster') {
    return {
      mode: 'examined',
      message:
        c.requires?.message ??
        `nothing to grade for "${c.title}": none of its checks (${checkTitles.join('; ')}) found anything in the submission to apply to`,
    };
  }
  return { mode: 'not-graded' };
}

export function parseRubric(text: string, source: string, env: RubricEnvironment): Rubric {
  const { doc, syntaxProblems, locate: located } = parseYamlWithPositions(text, source);
  const fail = (problems: string[]): never => {
    throw new ConfigError(
      `rubric ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      {
        problems,
        hint: 'Fix the fields listed above; `labgrader checks` lists every check id and its options.',
      },
    );
  };

  if (syntaxProblems.length > 0) fail(syntaxProblems);

  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const problems: Located[] = [];

  /** Validates one check reference (id known, options valid); used on parsed and on raw data. */
  const resolveCheck = (ref: unknown, ci: number, ki: number): (RubricCheck & { stage: CheckStage }) | undefined => {
    const item = (typeof ref === 'string' ? { id: ref } : ref) as {
      id?: unknown;
      options?: unknown;
      weight?: unknown;
      severity?: unknown;
    } | null;
    if (!item || typeof item !== 'object' || typeof item.id !== 'string') return undefined;
    const idPath: PathSegment[] =
      typeof ref === 'string' ? ['criteria', ci, 'checks', ki] : ['criteria', ci, 'checks', ki, 'id'];
    const meta = env.catalog.get(item.id);
    if (!meta) {
      const guess = closest(
        item.id,
        env.catalog.list().map((m) => m.id),
      );
      problems.push({
        path: idPath,
        message: `unknown check id '${item.id}'${guess ? `; did you mean '${guess}'?` : ' (run `labgrader checks` for the list)'}`,
      });
      return undefined;
    }
    const options = meta.options.safeParse(item.options ?? {});
    if (!options.success) {
      problems.push(...explainIssues(options.error.issues, ['criteria', ci, 'checks', ki, 'options'], meta.options));
      return undefined;
    }
    const configured: RubricCheck & { stage: CheckStage } = {
      id: item.id,
      stage: meta.stage,
      options: options.data,
      weight: typeof item.weight === 'number' && item.weight > 0 ? item.weight : 1,
    };
    if (typeof item.severity === 'string') configured.severity = item.severity as Severity;
    return configured;
  };

  const parsed = rubricFileSchema.safeParse(raw);
  if (!parsed.success) {
    // Report structural problems and, in the same pass, unknown check ids and bad options.
    const structural = located(explainIssues(parsed.error.issues, [], rubricFileSchema));
    const rawCriteria = (raw as { criteria?: unknown } | null)?.criteria;
    if (Array.isArray(rawCriteria)) {
      rawCriteria.forEach((c: unknown, ci) => {
        const checks = (c as { checks?: unknown } | null)?.checks;
        if (Array.isArray(checks)) checks.forEach((ref, ki) => resolveCheck(ref, ci, ki));
      });
    }
    fail([...structural, ...located(problems)]);
  }
  const file = parsed.data as RubricFile;

  const criteria: Criterion[] = [];
  const usedStages = new Set<CheckStage>();
  const criterionIds = new Set<string>();

  file.criteria.forEach((c, ci) => {
    if (criterionIds.has(c.id))
      problems.push({ path: ['criteria', ci, 'id'], message: `duplicate criterion id '${c.id}'` });
    criterionIds.add(c.id);
    const checks: RubricCheck[] = [];
    const stages = new Set<CheckStage>();
    c.checks.forEach((ref, ki) => {
      const resolved = resolveCheck(ref, ci, ki);
      if (!resolved) return;
      const { stage, ...configured } = resolved;
      stages.add(stage);
      checks.push(configured);
    });
    if (stages.size > 1) {
      problems.push({
        path: ['criteria', ci, 'checks'],
        message: `criterion '${c.id}' mixes checks of the ${[...stages].join(' and ')} stages; split it into one criterion per stage`,
      });
    }
    if (c.optional && c.requires) {
      problems.push({
        path: ['criteria', ci],
        key: 'requires',
        message: `criterion '${c.id}' is optional, so it requires nothing; remove 'optional' or 'requires'`,
      });
    }
    const stage = [...stages][0];
    if (stage && checks.length === c.checks.length) {
      usedStages.add(stage);
      const titles = checks.map((k) => env.catalog.get(k.id)?.title ?? k.id);
      criteria.push({
        id: c.id,
        title: c.title,
        ...(c.description ? { description: c.description } : {}),
        stage,
        points: c.points,
        scoring: c.scoring ?? 'ratio',
        requirement: resolveRequirement(c, stage, titles),
        checks,
      });
    }
  });

  const stages = {} as Record<CheckStage, StageConfig>;
  for (const name of STAGE_ORDER) {
    const config = file.stages?.[name];
    const schema = env.stageSettings[name];
    const wanted = config?.enabled ?? usedStages.has(name);
    let settings: unknown = {};
    if (wanted && !schema) {
      problems.push({
        path: ['stages', name],
        message: `the ${name} stage is not available in this version of labgrader`,
      });
    } else if (schema) {
      const result = schema.safeParse(config?.settings ?? {});
      if (result.success) settings = result.data;
      else problems.push(...explainIssues(result.error.issues, ['stages', name, 'settings'], schema));
    }
    stages[name] = {
      enabled: wanted && schema !== undefined,
      timeoutMs: (config?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[name]) * 1000,
      settings,
    };
  }

  file.criteria.forEach((c, ci) => {
    if (c.requires?.anyOf && !stages.lint.enabled) {
      problems.push({
        path: ['criteria', ci, 'requires'],
        key: 'anyOf',
        message:
          "requires.anyOf looks for objects in the manifests, which the lint stage reads, and this rubric does not run it; use a lint check in some criterion or set 'stages.lint.enabled: true'",
      });
    }
  });

  if (problems.length > 0) fail(located(problems));
  return {
    id: file.id,
    title: file.title,
    ...(file.description ? { description: file.description } : {}),
    source,
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    stages,
    criteria,
  };
}

/** Reads and parses a rubric; `displayName` is what messages call the file (default: `path`). */
export async function loadRubricFile(path: string, env: RubricEnvironment, displayName = path): Promise<Rubric> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read rubric ${displayName}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`,
      {
        hint: 'Pass an existing rubric file with --rubric, e.g. rubrics/lab-85.yaml.',
      },
    );
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new ConfigError(`rubric ${displayName} is not valid UTF-8 text`);
  return parseRubric(text, displayName, env);
}

/** Max points of the whole rubric. */
export function rubricMaxPoints(rubric: Rubric): number {
  return rubric.criteria.reduce((sum, c) => sum + c.points, 0);
}

/**
 * A rubric that runs every check of one stage with its default options, one
 * criterion per check: what `labgrader lint` / `labgrader docs` use when no
 * rubric is given, so they behave like plain linters.
 */
export function rubricForAllChecks(
  stage: CheckStage,
  checks: readonly { id: string; title: string; stage: CheckStage; options: z.ZodType<unknown> }[],
  settingsSchema: z.ZodType<unknown>,
  settings: unknown = {},
): Rubric {
  const stages = {} as Record<CheckStage, StageConfig>;
  for (const name of STAGE_ORDER) {
    stages[name] = {
      enabled: name === stage,
      timeoutMs: DEFAULT_TIMEOUT_SECONDS[name] * 1000,
      settings: name === stage ? settingsSchema.parse(settings) : {},
    };
  }
  const own = checks.filter((c) => c.stage === stage);
  return {
    id: `all-${stage}-checks`,
    title: `All ${stage} checks`,
    source: '(built in)',
    digest: `builtin:all-${stage}-checks`,
    stages,
    criteria: own.map((c) => ({
      id: c.id.slice(stage.length + 1),
      title: c.title,
      stage,
      points: 1,
      scoring: 'ratio' as const,
      // A linter run reports what the rules find; a rule with nothing to look at is not a problem.
      requirement: { mode: 'optional' as const },
      checks: [{ id: c.id, options: c.options.parse({}), weight: 1 }],
    })),
  };
}
