/**
 * Scoring: pure functions from check outcomes to criterion results.
 *
 *  ratio (default)   points × weighted mean over applicable checks of passed/examined
 *                    (or of the check's own `score` in [0, 1], e.g. a recovery-time band)
 *  all-or-nothing    full points only if every applicable check passed everything
 *  deduct            points − perFinding × (error and warning findings), floored at 0
 *
 * The tally and the findings cannot disagree: before scoring, each check's
 * counts are made consistent with the findings it reported at the severity
 * the rubric gave them. Every distinct subject of an error or warning finding
 * is a failing subject (a finding without a subject counts as one when no
 * other does), so `examined ≥ failing` and `passed ≤ examined − failing`; a
 * check's own `score` of full credit next to such a finding is not trusted
 * (the subject count is used). A criterion with a counted finding, or less
 * than full credit, never rounds up to full points.
 *
 * Nothing examined is not a pass. A check that examined nothing is left out
 * of the mean; a criterion whose checks all examined nothing, or that lacks
 * what its `requires` names, scores 0 with a finding that says what was
 * expected, unless the rubric marks it optional (full points). Cluster
 * criteria whose drills could not run here are not graded instead.
 * When a criterion's stage did not run (skipped) or could not grade, or one
 * of its checks crashed, the criterion is not scored and not counted in the
 * maximum: the report says why instead of handing out an unfair zero.
 */
import type {
  CheckOutcome,
  CheckRun,
  CheckStage,
  CheckSummary,
  CriterionResult,
  Finding,
  ManifestInventory,
  ReportFinding,
  StageStatus,
} from '@labgrader/core';
import { compareFindings } from '@labgrader/core';
import { describeObjects, type Criterion, type ObjectRequirement, type Rubric, type RubricCheck } from './load.js';

/** The `checkId` of the finding a criterion gets when what it requires is missing. */
export const REQUIREMENT_CHECK_ID = 'rubric/requirement';

export interface StageOutcome {
  status: StageStatus;
  message?: string;
  /** Keyed by `configKey(check)`. */
  runs: ReadonlyMap<string, CheckRun>;
}

/** Identity of a configured check: the same check with other options or severity is another run. */
export function configKey(check: RubricCheck | { id: string; options: unknown; severity?: string }): string {
  return `${check.id}|${check.severity ?? ''}|${stableStringify(check.options)}`;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const round2 = (n: number) => Math.round(n * 100) / 100;
/** The smallest difference a report shows. */
const CENT = 0.01;

export interface ScoreResult {
  criteria: CriterionResult[];
  findings: ReportFinding[];
  points: number;
  maxPoints: number;
  percent: number;
}

export interface ScoreContext {
  /**
   * The objects the lint stage found (empty when the repository has none), for
   * `requires.anyOf`. Undefined when the lint stage did not read the
   * manifests: such requirements then fall back to "something was examined".
   */
  inventory?: ManifestInventory;
}

/** Whether a finding costs points: errors and warnings do, `info` never does. */
export function countsAgainst(f: Pick<Finding, 'severity'>): boolean {
  return f.severity !== 'info';
}

const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);

/**
 * A check's tally made consistent with its findings (at the severity the
 * rubric gave them): distinct subjects of counted findings are failing
 * subjects, `examined ≥ failing`, `passed ≤ examined − failing`.
 */
export function consistentTally(outcome: CheckOutcome): {
  examined: number;
  passed: number;
  failing: number;
  findings: number;
  score?: number;
} {
  const counted = outcome.findings.filter(countsAgainst);
  const subjects = new Set(counted.flatMap((f) => (f.subject === undefined ? [] : [f.subject])));
  const failing = subjects.size + (subjects.size === 0 && counted.length > 0 ? 1 : 0);
  const reported = count(outcome.examined);
  const examined = Math.max(reported, failing);
  const passed = Math.min(count(outcome.passed), examined - failing);
  const raw = outcome.score;
  // The check's own finer credit, unless it examined nothing or claims full credit next to a counted finding.
  const score =
    reported > 0 && typeof raw === 'number' && Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : undefined;
  return {
    examined,
    passed,
    failing,
    findings: counted.length,
    ...(score !== undefined && !(failing > 0 && score >= 1) ? { score } : {}),
  };
}

function requirementMet(anyOf: readonly ObjectRequirement[], inventory: ManifestInventory): boolean {
  return anyOf.some((o) =>
    o.referenced
      ? (inventory.references ?? []).some((r) => r.kind === o.kind)
      : inventory.objects.some((x) => x.kind === o.kind),
  );
}

function scoreOne(
  criterion: Criterion,
  stage: StageOutcome | undefined,
  context: ScoreContext,
): { result: CriterionResult; missing?: ReportFinding } {
  const base = {
    id: criterion.id,
    title: criterion.title,
    ...(criterion.description ? { description: criterion.description } : {}),
    stage: criterion.stage,
    maxPoints: criterion.points,
  };
  const summaries = criterion.checks.map((check): CheckSummary & { failing: number } => {
    const run = stage?.runs.get(configKey(check));
    const outcome = run?.outcome;
    const tally = outcome ? consistentTally(outcome) : { examined: 0, passed: 0, failing: 0, findings: 0 };
    return {
      id: check.id,
      ...tally,
      weight: check.weight,
      ...(outcome?.summary ? { summary: outcome.summary } : {}),
      ...(run?.error ? { error: run.error } : !run && stage?.status === 'ok' ? { error: 'check did not run' } : {}),
    };
  });
  const checks: CheckSummary[] = summaries.map(({ failing: _failing, ...s }) => s);
  /** A check's credit: its own score when it gives one (recovery-time bands), else the share of subjects passing. */
  const credit = (s: (typeof summaries)[number]) => s.score ?? s.passed / s.examined;

  if (!stage || stage.status === 'skipped') {
    return {
      result: {
        ...base,
        points: 0,
        status: 'skipped',
        checks,
        summary: `not graded: the ${criterion.stage} stage did not run${stage?.message ? ` (${stage.message})` : ''}`,
      },
    };
  }
  if (stage.status !== 'ok') {
    return {
      result: {
        ...base,
        points: 0,
        status: 'not-gradable',
        checks,
        summary: `not graded: the ${criterion.stage} stage ${stage.status === 'timed-out' ? 'ran out of time' : stage.status === 'failed' ? 'failed' : 'could not grade this submission'}${stage.message ? `: ${stage.message}` : ''}`,
      },
    };
  }
  const broken = summaries.filter((s) => s.error);
  if (broken.length > 0) {
    return {
      result: {
        ...base,
        points: 0,
        status: 'not-gradable',
        checks,
        summary: `not graded: ${broken.map((b) => `${b.id} failed (${b.error})`).join('; ')}`,
      },
    };
  }

  const parts = summaries.map((s) =>
    s.summary
      ? `${s.id}: ${s.summary}`
      : s.examined === 0
        ? `${s.id}: not applicable`
        : s.score !== undefined
          ? `${s.id}: ${Math.round(s.score * 100)}% credit`
          : `${s.id}: ${s.passed}/${s.examined} pass`,
  );
  const applicable = summaries.filter((s) => s.examined > 0);

  // Nothing examined is not a pass: what the criterion needs must be there.
  const requirement = criterion.requirement;
  let unmet: string | undefined;
  if (requirement.mode === 'objects' && context.inventory) {
    if (!requirementMet(requirement.anyOf, context.inventory)) unmet = requirement.message;
  } else if (applicable.length === 0) {
    if (requirement.mode === 'not-graded') {
      return {
        result: {
          ...base,
          points: 0,
          status: 'not-gradable',
          checks,
          summary: `not graded: none of its checks could examine anything here (${parts.join('; ')})`,
        },
      };
    }
    if (requirement.mode !== 'optional') unmet = requirement.message;
  }
  if (unmet !== undefined) {
    return {
      result: { ...base, points: 0, status: 'failed', checks, summary: unmet },
      missing: {
        checkId: REQUIREMENT_CHECK_ID,
        severity: 'error',
        message: unmet,
        subject: `criterion ${criterion.id}`,
        criteria: [criterion.id],
      },
    };
  }

  let fraction: number;
  const scoring = criterion.scoring;
  if (scoring === 'ratio') {
    const totalWeight = applicable.reduce((sum, s) => sum + s.weight, 0);
    fraction = totalWeight === 0 ? 1 : applicable.reduce((sum, s) => sum + s.weight * credit(s), 0) / totalWeight;
  } else if (scoring === 'all-or-nothing') {
    fraction = applicable.every((s) => credit(s) >= 1) ? 1 : 0;
  } else {
    const findings = summaries.reduce((sum, s) => sum + s.findings, 0);
    fraction =
      criterion.points === 0 ? 1 : Math.max(0, criterion.points - scoring.perFinding * findings) / criterion.points;
  }
  // A counted finding always costs points: less than full credit never rounds up to full points.
  if (summaries.some((s) => s.failing > 0)) fraction = Math.min(fraction, 1 - Number.EPSILON);
  let points = Math.min(criterion.points, round2(criterion.points * fraction));
  if (fraction < 1) points = Math.max(0, Math.min(points, round2(criterion.points - CENT)));
  const status = points >= criterion.points ? 'passed' : points <= 0 ? 'failed' : 'partial';
  let summary = parts.join('; ');
  if (applicable.length === 0 && requirement.mode === 'optional') summary = `nothing to grade (optional): ${summary}`;
  else if (applicable.length === 0 && requirement.mode === 'objects' && context.inventory) {
    const inventory = context.inventory;
    const found = describeObjects(requirement.anyOf.filter((o) => requirementMet([o], inventory)));
    summary = `nothing to examine besides what it requires, which is there (${found}): ${summary}`;
  }
  return { result: { ...base, points, status, checks, summary } };
}

export function scoreRubric(
  rubric: Rubric,
  stages: ReadonlyMap<CheckStage, StageOutcome>,
  context: ScoreContext = {},
): ScoreResult {
  const scored = rubric.criteria.map((c) => scoreOne(c, stages.get(c.stage), context));
  const criteria = scored.map((s) => s.result);

  // Findings: each configured run once, tagged with every criterion that used it.
  const byKey = new Map<string, ReportFinding>();
  for (const criterion of rubric.criteria) {
    const stage = stages.get(criterion.stage);
    if (!stage || stage.status !== 'ok') continue;
    for (const check of criterion.checks) {
      for (const finding of stage.runs.get(configKey(check))?.outcome?.findings ?? []) {
        // Severity is part of the identity: the same problem counted in one criterion and informational in another is two findings.
        const key = `${finding.checkId}|${finding.severity}|${finding.location?.file}|${finding.location?.line}|${finding.location?.column}|${finding.message}`;
        const existing = byKey.get(key);
        if (existing) {
          if (!existing.criteria.includes(criterion.id)) existing.criteria.push(criterion.id);
        } else {
          byKey.set(key, { ...finding, criteria: [criterion.id] });
        }
      }
    }
  }
  const missing = scored.flatMap((s) => (s.missing ? [s.missing] : []));
  const findings = [...byKey.values(), ...missing].sort(compareFindings);
  const graded = criteria.filter((c) => c.status !== 'skipped' && c.status !== 'not-gradable');
  const points = round2(graded.reduce((s, c) => s + c.points, 0));
  const maxPoints = round2(graded.reduce((s, c) => s + c.maxPoints, 0));
  const percent = maxPoints === 0 ? 0 : Math.round((points / maxPoints) * 1000) / 10;
  return { criteria, findings, points, maxPoints, percent };
}
