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
import { LineCounter, isMap, isNode, isPair, isScalar, parseDocument, type Document, type Node } from 'yaml';
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
import { closest } from './suggest.js';

export const STAGE_ORDER: readonly CheckStage[] = ['docs', 'lint', 'cluster'];

const DEFAULT_TIMEOUT_SECONDS: Record<CheckStage, number> = { docs: 60, lint: 180, cluster: 900 };

export interface RubricCheck extends ConfiguredCheck {
  weight: number;
}

export interface Criterion {
  id: string;
  title: string;
  description?: string;
  stage: CheckStage;
  points: number;
  scoring: Scoring;
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

type PathSegment = string | number;

interface Located {
  path: PathSegment[];
  message: string;
  /** Point at the key rather than the value (unknown keys). */
  key?: string;
}

function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(top level)';
}

/** Known object keys at a schema position, for "did you mean" (zod v4 internals, read-only). */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let current: any = schema;
  const unwrap = () => {
    while (current?._zod?.def && ['optional', 'default', 'nullable', 'pipe'].includes(current._zod.def.type)) {
      current = current._zod.def.innerType ?? current._zod.def.in;
    }
  };
  const objectOf = (s: unknown): unknown => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const def = (s as any)?._zod?.def;
    if (def?.type === 'union')
      return def.options.find((o: { _zod: { def: { type: string } } }) => o._zod.def.type === 'object');
    return s;
  };
  for (const seg of path) {
    unwrap();
    current = objectOf(current);
    unwrap();
    const def = current?._zod?.def;
    if (!def) return [];
    if (def.type === 'array' && typeof seg === 'number') current = def.element;
    else if (def.type === 'object' && typeof seg === 'string') current = def.shape[seg];
    else if (def.type === 'record') current = def.valueType;
    else return [];
  }
  unwrap();
  current = objectOf(current);
  unwrap();
  return current?._zod?.def?.type === 'object' ? Object.keys(current._zod.def.shape) : [];
}

/** Turns zod issues into located messages, expanding unions into something readable. */
function explainIssues(
  issues: readonly z.core.$ZodIssue[],
  base: PathSegment[],
  schema: z.ZodType | undefined,
): Located[] {
  const out: Located[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeys(schema, issue.path as PathSegment[]) : [];
      for (const key of issue.keys) {
        const guess = closest(key, known);
        const hint = guess ? `; did you mean '${guess}'?` : known.length ? ` (allowed: ${known.join(', ')})` : '';
        out.push({ path, key, message: `unknown field '${key}'${hint}` });
      }
    } else if (issue.code === 'invalid_union') {
      const branches = issue.errors;
      const literals = branches.flatMap((b) =>
        b.filter((i) => i.code === 'invalid_value').flatMap((i) => (i.code === 'invalid_value' ? i.values : [])),
      );
      const typed = branches.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (typed.length === 1) {
        out.push(...explainIssues(typed[0]!, path, undefined));
      } else if (literals.length > 0) {
        const allowed = literals.map((v) => `'${String(v)}'`).join(', ');
        const objectBranch = branches.some((b) => b.some((i) => i.code === 'invalid_type' && i.expected === 'object'));
        out.push({ path, message: `expected one of ${allowed}${objectBranch ? ' or an object' : ''}` });
      } else {
        out.push({ path, message: issue.message });
      }
    } else if (issue.code === 'invalid_value') {
      out.push({ path, message: `expected ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}` });
    } else if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message) && path.length > 0) {
      out.push({ path: path.slice(0, -1), message: `missing required field '${String(path[path.length - 1])}'` });
    } else {
      out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}

function nodeAt(doc: Document, path: readonly PathSegment[], key?: string): Node | undefined {
  if (key !== undefined) {
    const parent = doc.getIn(path, true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isNode(pair.key)) return pair.key;
    }
  }
  // Walk down as far as the document goes; report the deepest existing node.
  for (let i = path.length; i >= 0; i--) {
    const node: unknown = i === 0 ? doc.contents : doc.getIn(path.slice(0, i), true);
    if (isNode(node)) return node;
  }
  return undefined;
}

export function parseRubric(text: string, source: string, env: RubricEnvironment): Rubric {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const where = (node: Node | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return `${source}:${line}:${col}`;
  };
  const fail = (problems: string[]): never => {
    throw new ConfigError(
      `rubric ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      {
        problems,
        hint: 'Fix the fields listed above; `labgrader checks` lists every check id and its options.',
      },
    );
  };

  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${source}:${line}:${col}: YAML syntax: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const located = (items: Located[]) =>
    items.map((l) => `${where(nodeAt(doc, l.path, l.key))}: ${formatPath(l.path)}: ${l.message}`);

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
    const stage = [...stages][0];
    if (stage && checks.length === c.checks.length) {
      usedStages.add(stage);
      criteria.push({
        id: c.id,
        title: c.title,
        ...(c.description ? { description: c.description } : {}),
        stage,
        points: c.points,
        scoring: c.scoring ?? 'ratio',
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
      checks: [{ id: c.id, options: c.options.parse({}), weight: 1 }],
    })),
  };
}
