/**
 * The check-plugin contract. Every docs check, lint rule and (later) cluster
 * probe is one module exporting a CheckDefinition, collected in its stage's
 * registry. Rubrics refer to checks by id, weight them, and pass options that
 * the check's own zod schema validates.
 */
import type { z } from 'zod';
import type { Evidence, Finding, Severity } from './findings.js';

/** Stages that run checks. */
export type CheckStage = 'docs' | 'lint' | 'cluster';

/** What a check tells the world about itself (used by rubrics, SARIF rules, `labgrader checks`). */
export interface CheckMeta {
  /** `<stage>/<kebab-name>`, stable forever once published: rubrics refer to it. */
  id: string;
  stage: CheckStage;
  /** Short title, e.g. "Containers set CPU and memory requests and limits". */
  title: string;
  /** Why this matters in production (shown in docs and SARIF help). */
  rationale: string;
  /** Default severity of its findings; a rubric may override it. */
  severity: Severity;
  /** How to fix it, Markdown; usually includes a YAML or Markdown snippet. */
  fixHint: string;
  /** Upstream documentation. */
  docsUrl?: string;
}

/**
 * The result of running one check. `examined` counts the subjects the check
 * looked at (containers, sections, images...) and `passed` how many of them
 * were fine; scoring uses the ratio for partial credit. A check with nothing
 * to examine returns `examined: 0` (not applicable).
 *
 * A check whose credit is not a share of whole subjects (a recovery time that
 * falls in a "half credit" band) also sets `score`, the credit in [0, 1] that
 * scoring uses instead of `passed / examined`; `passed` then counts the
 * subjects that earned full credit. Checks that leave it out are scored as
 * before.
 */
export interface CheckOutcome {
  findings: Finding[];
  evidence?: Evidence[];
  examined: number;
  passed: number;
  /** Credit in [0, 1], when it is finer than `passed / examined`. Ignored when `examined` is 0. */
  score?: number;
  /** One line for the criterion's summary instead of "passed/examined pass" (e.g. "recovered in 4.2 s"). */
  summary?: string;
}

/** Options after the check's schema has applied its defaults. */
export interface CheckDefinition<Context, Options = Record<string, never>> extends CheckMeta {
  /** Validates (and defaults) the options a rubric passes to this check. */
  options: z.ZodType<Options>;
  check(context: Context, options: Options): CheckOutcome | Promise<CheckOutcome>;
}

/** Erases the option type so heterogeneous checks fit in one registry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCheck<Context> = CheckDefinition<Context, any>;

export function checkMeta(check: CheckMeta): CheckMeta {
  const { id, stage, title, rationale, severity, fixHint, docsUrl } = check;
  return docsUrl === undefined
    ? { id, stage, title, rationale, severity, fixHint }
    : { id, stage, title, rationale, severity, fixHint, docsUrl };
}

const CHECK_ID = /^(docs|lint|cluster)\/[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A stage's checks, by id. Construction validates ids (unique, well-formed, stage prefix). */
export class CheckRegistry<Context> {
  readonly stage: CheckStage;
  private readonly byId = new Map<string, AnyCheck<Context>>();

  constructor(stage: CheckStage, checks: readonly AnyCheck<Context>[]) {
    this.stage = stage;
    for (const check of checks) {
      if (!CHECK_ID.test(check.id)) throw new Error(`check id '${check.id}' must look like '${stage}/kebab-case-name'`);
      if (check.stage !== stage || !check.id.startsWith(`${stage}/`)) {
        throw new Error(
          `check '${check.id}' is registered in the ${stage} registry but declares stage '${check.stage}'`,
        );
      }
      if (this.byId.has(check.id)) throw new Error(`duplicate check id '${check.id}'`);
      this.byId.set(check.id, check);
    }
  }

  get(id: string): AnyCheck<Context> | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  list(): readonly AnyCheck<Context>[] {
    return [...this.byId.values()];
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}

/** All checks the running build knows, across stages: what rubrics are validated against. */
export interface CheckCatalog {
  get(id: string): (CheckMeta & { options: z.ZodType<unknown> }) | undefined;
  list(): readonly (CheckMeta & { options: z.ZodType<unknown> })[];
}

export function catalogOf(...registries: readonly CheckRegistry<never>[]): CheckCatalog {
  const all = new Map<string, CheckMeta & { options: z.ZodType<unknown> }>();
  for (const registry of registries) {
    for (const check of registry.list()) {
      if (all.has(check.id)) throw new Error(`duplicate check id '${check.id}' across registries`);
      all.set(check.id, check);
    }
  }
  return {
    get: (id) => all.get(id),
    list: () => [...all.values()],
  };
}

/** One check as the rubric configured it: which one, with which (already validated) options. */
export interface ConfiguredCheck {
  id: string;
  options: unknown;
  /** Rubric override of the check's default severity. */
  severity?: Severity;
}

export interface CheckRun {
  id: string;
  outcome?: CheckOutcome;
  /** Set when the check itself crashed: a labgrader bug, never the student's fault. */
  error?: string;
  durationMs: number;
}

/**
 * Runs configured checks against one context. A crashing check is isolated:
 * it is reported as an error for its criteria and the others still run.
 */
export async function runChecks<Context>(
  registry: CheckRegistry<Context>,
  configured: readonly ConfiguredCheck[],
  context: Context,
  options: { signal?: AbortSignal; now?: () => number } = {},
): Promise<CheckRun[]> {
  const now = options.now ?? (() => performance.now());
  const runs: CheckRun[] = [];
  for (const item of configured) {
    if (options.signal?.aborted) break;
    const check = registry.get(item.id);
    if (!check) continue;
    const started = now();
    try {
      const outcome = await check.check(context, item.options);
      runs.push({
        id: item.id,
        outcome: item.severity ? withSeverity(outcome, item.severity) : outcome,
        durationMs: now() - started,
      });
    } catch (err) {
      runs.push({
        id: item.id,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        durationMs: now() - started,
      });
    }
  }
  return runs;
}

/** Subjects named by findings that cost points (error, warning). */
function failingSubjects(findings: readonly Finding[]): Set<string> {
  return new Set(findings.flatMap((f) => (f.severity !== 'info' && f.subject !== undefined ? [f.subject] : [])));
}

/**
 * A rubric's severity override applied to an outcome: the findings take the
 * new severity and `passed` follows, so the tally never disagrees with the
 * findings. A check counts its subjects at its own default severity; raised
 * from `info` to `warning`, each subject its findings name becomes a failing
 * one, and lowered to `info`, the subjects that failed only through findings
 * pass again (info never costs points).
 */
export function withSeverity(outcome: CheckOutcome, severity: Severity): CheckOutcome {
  const findings = outcome.findings.map((f) => ({ ...f, severity }));
  const before = failingSubjects(outcome.findings);
  const after = failingSubjects(findings);
  let passed = outcome.passed;
  for (const subject of before) if (!after.has(subject)) passed += 1;
  for (const subject of after) if (!before.has(subject)) passed -= 1;
  return { ...outcome, findings, passed: Math.max(0, Math.min(outcome.examined, passed)) };
}

/**
 * Builds an outcome from the subjects a check examined and the findings it
 * made: a subject passes when none of the findings name it. Findings without
 * a subject do not affect the count.
 */
export function outcomeFromSubjects(
  subjects: readonly string[],
  findings: Finding[],
  evidence?: Evidence[],
): CheckOutcome {
  const failing = new Set(findings.filter((f) => f.severity !== 'info').map((f) => f.subject));
  const unique = new Set(subjects);
  let passed = 0;
  for (const subject of unique) if (!failing.has(subject)) passed += 1;
  return evidence ? { findings, evidence, examined: unique.size, passed } : { findings, examined: unique.size, passed };
}
