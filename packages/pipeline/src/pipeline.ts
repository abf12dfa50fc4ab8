/**
 * The grading pipeline: Submission → fetch → lint → docs → cluster → score → Report.
 *
 * Lint runs before docs because its discovery publishes the manifest
 * inventory that the docs consistency check reads; the report lists stages in
 * the order they ran. Every stage runs under its rubric time budget and ends
 * as ok / skipped / not-gradable / failed / timed-out. A report is `graded`
 * only when every stage the rubric asked for ended ok or was skipped on
 * purpose; otherwise it is `not-gradable` with the reason, so an
 * infrastructure problem is never turned into a student's zero.
 */
import {
  InfrastructureError,
  LABGRADER_VERSION,
  NotGradableError,
  REPORT_SCHEMA_ID,
  REPORT_SCHEMA_VERSION,
  UsageError,
  isLabgraderError,
  redactSecrets,
  runChecks,
  silentLogger,
  systemClock,
  type AnyGradingStage,
  type CheckRun,
  type CheckStage,
  type Clock,
  type CommandRunner,
  type Evidence,
  type Finding,
  type Logger,
  type ManifestInventory,
  type Report,
  type ReportFinding,
  type RepoFiles,
  type StageName,
  type StageResult,
  type Submission,
  emptyInventory,
  compareFindings,
  ConfigError,
  DEFAULT_EXCERPT_LIMITS,
  excerptFiles,
  extractExcerpts,
  type ExcerptLimits,
  type SourceExcerpts,
} from '@labgrader/core';
import { configKey, rubricMaxPoints, scoreRubric, type Rubric, type StageOutcome } from '@labgrader/rubric';
import { prepareWorkspace, splitCredentials, type SubmissionSource, type WorkspaceLimits } from '@labgrader/repo';
import { StageTimeoutError, withBudget } from './budget.js';
import type { PipelineEvent } from './events.js';

export interface PipelineDeps {
  runner: CommandRunner;
  /** Stage implementations this build offers (docs, lint; cluster later). */
  stages: Partial<Record<CheckStage, AnyGradingStage>>;
  clock?: Clock;
  logger?: Logger;
  /** Cancels the whole job (shutdown, superseded push). */
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  workspace?: { limits?: Partial<WorkspaceLimits>; tempRoot?: string; fetchTimeoutMs?: number };
}

export interface GradeOptions {
  rubric: Rubric;
  /** Stages not to run although the rubric enables them, with the reason (e.g. `--cluster none`). */
  skip?: Partial<Record<CheckStage, string>>;
  /** Facts the workspace cannot know: GitHub repository name, author, push time. */
  submission?: Partial<Submission>;
}

const RUN_ORDER: readonly CheckStage[] = ['lint', 'docs', 'cluster'];

interface Clocked {
  clock: Clock;
  startedMono: number;
  startedAt: Date;
}

function stageResult(
  name: StageName,
  t: Clocked,
  status: StageResult['status'],
  extra: { message?: string; budgetMs?: number } = {},
): StageResult {
  return {
    name,
    status,
    startedAt: t.startedAt.toISOString(),
    durationMs: Math.max(0, Math.round((t.clock.monotonicMs() - t.startedMono) * 10) / 10),
    ...(extra.budgetMs !== undefined ? { budgetMs: extra.budgetMs } : {}),
    ...(extra.message !== undefined ? { message: extra.message } : {}),
  };
}

function start(clock: Clock): Clocked {
  return { clock, startedMono: clock.monotonicMs(), startedAt: clock.now() };
}

/** Fills fix hints and docs links from the check's metadata, so every report is self-contained. */
function enrich(findings: Finding[], stage: AnyGradingStage): Finding[] {
  return findings.map((f) => {
    const meta = stage.registry.get(f.checkId);
    if (!meta) return f;
    return {
      ...f,
      ...(f.fixHint === undefined ? { fixHint: meta.fixHint } : {}),
      ...(f.docsUrl === undefined && meta.docsUrl ? { docsUrl: meta.docsUrl } : {}),
    };
  });
}

interface NotGradableInfo {
  reason: string;
  message: string;
  hint?: string;
}

export interface GradeRepoInput {
  files: RepoFiles;
  submission: Submission;
  /** Stage results that happened before (the fetch stage). */
  before?: StageResult[];
  startedAt?: Date;
  startedMono?: number;
}

/** Grades files that are already on disk (the worker's and the CLI's common path). */
export async function gradeRepository(
  input: GradeRepoInput,
  options: GradeOptions,
  deps: PipelineDeps,
): Promise<Report> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const emit = deps.onEvent ?? (() => {});
  const rubric = options.rubric;
  const startedAt = input.startedAt ?? clock.now();
  const startedMono = input.startedMono ?? clock.monotonicMs();

  const stageResults: StageResult[] = [...(input.before ?? [])];
  const outcomes = new Map<CheckStage, StageOutcome>();
  const extraFindings: Finding[] = [];
  const evidence: Evidence[] = [];
  let inventory: ManifestInventory = emptyInventory;
  /** Whether the lint stage read the manifests (also when it found none): `requires.anyOf` needs it. */
  let inventoryKnown = false;
  let notGradable: NotGradableInfo | undefined;

  for (const name of RUN_ORDER) {
    const config = rubric.stages[name];
    const impl = deps.stages[name];
    const skipReason = !config.enabled
      ? 'not used by this rubric'
      : options.skip?.[name] !== undefined
        ? options.skip[name]
        : !impl
          ? `the ${name} stage is not available in this build`
          : undefined;
    if (skipReason !== undefined || !impl) {
      // Stages the rubric does not use are left out of the report entirely.
      if (config.enabled) {
        const t = start(clock);
        const result = stageResult(name, t, 'skipped', { message: skipReason ?? 'not available' });
        stageResults.push(result);
        emit({ type: 'stage-end', stage: name, result });
      }
      outcomes.set(name, { status: 'skipped', runs: new Map(), ...(skipReason ? { message: skipReason } : {}) });
      continue;
    }

    const t = start(clock);
    emit({ type: 'stage-start', stage: name });
    const configured = new Map<string, { id: string; options: unknown; severity?: 'error' | 'warning' | 'info' }>();
    for (const criterion of rubric.criteria) {
      if (criterion.stage !== name) continue;
      for (const check of criterion.checks) configured.set(configKey(check), check);
    }
    let outcome: StageOutcome;
    let result: StageResult;
    try {
      outcome = await withBudget(
        `the ${name} stage`,
        config.timeoutMs,
        deps.signal,
        async (signal) => {
          const prep = await impl.prepare({
            repo: input.files,
            settings: config.settings,
            runner: deps.runner,
            signal,
            logger: logger.child({ stage: name }),
            inventory,
            progress: (message) => emit({ type: 'progress', stage: name, message }),
            checks: [...configured.values()],
          });
          if (prep.inventory) {
            inventory = prep.inventory;
            inventoryKnown = true;
          }
          if (prep.findings) extraFindings.push(...enrich(prep.findings, impl));
          if (prep.evidence) evidence.push(...prep.evidence);
          if (prep.notGradable) {
            notGradable ??= prep.notGradable;
            return {
              status: 'not-gradable',
              message: prep.notGradable.message,
              runs: new Map<string, CheckRun>(),
            } satisfies StageOutcome;
          }
          const keys = [...configured.keys()];
          const runs = await runChecks(impl.registry, [...configured.values()], prep.context, {
            signal,
            now: () => clock.monotonicMs(),
          });
          const byKey = new Map<string, CheckRun>();
          runs.forEach((run, i) => {
            if (run.outcome) {
              run.outcome.findings = enrich(run.outcome.findings, impl);
              if (run.outcome.evidence) evidence.push(...run.outcome.evidence);
            }
            if (run.error) logger.error('check crashed', { check: run.id, error: run.error });
            byKey.set(keys[i]!, run);
          });
          return { status: 'ok', runs: byKey } satisfies StageOutcome;
        },
        impl.abortGraceMs ?? 0,
      );
      result = stageResult(name, t, outcome.status, {
        budgetMs: config.timeoutMs,
        ...(outcome.message ? { message: outcome.message } : {}),
      });
    } catch (err) {
      if (err instanceof StageTimeoutError) {
        outcome = { status: 'timed-out', runs: new Map(), message: err.message };
        notGradable ??= {
          reason: 'timed-out',
          message: err.message,
          hint: 'Grading took too long; this is not your fault. It will be retried or an instructor will look at it.',
        };
      } else if (err instanceof NotGradableError) {
        outcome = { status: 'not-gradable', runs: new Map(), message: err.message };
        notGradable ??= { reason: err.reason, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
      } else if (err instanceof UsageError || err instanceof ConfigError) {
        throw err;
      } else {
        const message = redactSecrets(
          isLabgraderError(err) ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`,
        );
        logger.error('stage failed', { stage: name, error: err instanceof Error ? err.stack : String(err) });
        outcome = { status: 'failed', runs: new Map(), message };
        notGradable ??= {
          reason: 'stage-failed',
          message: `the ${name} stage failed: ${message}`,
          hint:
            err instanceof InfrastructureError
              ? (err.hint ?? 'Try again later.')
              : 'This is a labgrader problem, not yours; please report it.',
        };
      }
      result = stageResult(name, t, outcome.status, {
        budgetMs: config.timeoutMs,
        ...(outcome.message ? { message: outcome.message } : {}),
      });
    }
    outcomes.set(name, outcome);
    stageResults.push(result);
    emit({ type: 'stage-end', stage: name, result });
  }

  const scoreTime = start(clock);
  emit({ type: 'stage-start', stage: 'score' });
  const score = scoreRubric(rubric, outcomes, inventoryKnown ? { inventory } : {});
  const unowned: ReportFinding[] = extraFindings.map((f) => ({ ...f, criteria: [] }));
  const findings = [...score.findings, ...unowned].sort(compareFindings);
  const scoreResult = stageResult('score', scoreTime, 'ok');
  stageResults.push(scoreResult);
  emit({ type: 'stage-end', stage: 'score', result: scoreResult });

  const finishedAt = clock.now();
  const submission: Submission = { ...input.submission, ...options.submission };
  return {
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'labgrader', version: LABGRADER_VERSION },
    submission,
    rubric: { id: rubric.id, title: rubric.title, digest: rubric.digest },
    status: notGradable ? 'not-gradable' : 'graded',
    ...(notGradable ? { notGradable } : {}),
    score: {
      points: score.points,
      maxPoints: score.maxPoints,
      percent: score.percent,
      rubricMaxPoints: rubricMaxPoints(rubric),
    },
    criteria: score.criteria,
    findings,
    evidence,
    stages: stageResults,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.round((clock.monotonicMs() - startedMono) * 10) / 10,
  };
}

function describeSource(source: SubmissionSource): Submission {
  if (source.kind === 'directory') return { source: 'directory', repository: source.displayPath ?? source.path };
  return {
    source: 'git',
    repository: redactSecrets(splitCredentials(source.url).url),
    ...(source.ref ? { ref: source.ref } : {}),
  };
}

/**
 * Fetches the submission into a private workspace, grades it, and always
 * cleans up. Usage and rubric errors are thrown; everything else about the
 * submission ends up in the report.
 */
export async function gradeSource(
  source: SubmissionSource,
  options: GradeOptions,
  deps: PipelineDeps,
): Promise<Report> {
  return (await gradeInWorkspace(source, options, deps)).report;
}

/**
 * gradeSource, and the source excerpts around the report's findings, read
 * from the workspace before it is removed (see core's excerpts.ts: redacted,
 * capped). Absent when the submission could not be fetched or the files could
 * not be read: excerpts never fail a grading.
 */
export async function gradeSourceWithExcerpts(
  source: SubmissionSource,
  options: GradeOptions,
  deps: PipelineDeps,
  limits: ExcerptLimits = DEFAULT_EXCERPT_LIMITS,
): Promise<{ report: Report; excerpts?: SourceExcerpts }> {
  let excerpts: SourceExcerpts | undefined;
  const { report } = await gradeInWorkspace(source, options, deps, async (files, graded) => {
    try {
      excerpts = await readExcerpts(files, graded.findings, limits);
    } catch (err) {
      (deps.logger ?? silentLogger).warn('source excerpts not kept', { error: err });
    }
  });
  return excerpts ? { report, excerpts } : { report };
}

/** Reads the files the findings point into (text files within the workspace limits) and cuts the excerpts. */
export async function readExcerpts(
  files: RepoFiles,
  findings: readonly ReportFinding[],
  limits: ExcerptLimits = DEFAULT_EXCERPT_LIMITS,
): Promise<SourceExcerpts> {
  const texts = new Map<string, string>();
  for (const path of excerptFiles(findings)) {
    const read = await files.readText(path);
    if (read.ok) texts.set(path, read.value);
  }
  return extractExcerpts(findings, texts, limits);
}

async function gradeInWorkspace(
  source: SubmissionSource,
  options: GradeOptions,
  deps: PipelineDeps,
  inspect?: (files: RepoFiles, report: Report) => Promise<void>,
): Promise<{ report: Report }> {
  const clock = deps.clock ?? systemClock;
  const emit = deps.onEvent ?? (() => {});
  const startedAt = clock.now();
  const startedMono = clock.monotonicMs();
  const t = start(clock);
  emit({ type: 'stage-start', stage: 'fetch' });
  let workspace;
  try {
    workspace = await prepareWorkspace(source, {
      runner: deps.runner,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.workspace?.limits ? { limits: deps.workspace.limits } : {}),
      ...(deps.workspace?.tempRoot ? { tempRoot: deps.workspace.tempRoot } : {}),
      progress: (message) => emit({ type: 'progress', stage: 'fetch', message }),
    });
  } catch (err) {
    if (err instanceof UsageError || !(err instanceof NotGradableError || err instanceof InfrastructureError))
      throw err;
    const result = stageResult('fetch', t, err instanceof NotGradableError ? 'not-gradable' : 'failed', {
      message: err.message,
    });
    emit({ type: 'stage-end', stage: 'fetch', result });
    const report = notFetchedReport(
      source,
      options,
      {
        reason: err instanceof NotGradableError ? err.reason : 'fetch-failed',
        message: err.message,
        ...(err.hint ? { hint: err.hint } : {}),
      },
      result,
      {
        clock,
        startedAt,
        startedMono,
      },
    );
    return { report };
  }
  const fetched = stageResult('fetch', t, 'ok', {
    message: `${workspace.submission.commit ? workspace.submission.commit.slice(0, 12) : 'working tree'}`,
  });
  emit({ type: 'stage-end', stage: 'fetch', result: fetched });
  try {
    const report = await gradeRepository(
      { files: workspace.files, submission: workspace.submission, before: [fetched], startedAt, startedMono },
      options,
      deps,
    );
    await inspect?.(workspace.files, report);
    return { report };
  } finally {
    await workspace.dispose();
  }
}

function notFetchedReport(
  source: SubmissionSource,
  options: GradeOptions,
  notGradable: NotGradableInfo,
  fetch: StageResult,
  t: { clock: Clock; startedAt: Date; startedMono: number },
): Report {
  const outcomes = new Map<CheckStage, StageOutcome>(
    RUN_ORDER.map((s) => [
      s,
      { status: 'not-gradable', runs: new Map(), message: 'the submission could not be fetched' },
    ]),
  );
  const score = scoreRubric(options.rubric, outcomes);
  return {
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'labgrader', version: LABGRADER_VERSION },
    submission: { ...describeSource(source), ...options.submission },
    rubric: { id: options.rubric.id, title: options.rubric.title, digest: options.rubric.digest },
    status: 'not-gradable',
    notGradable,
    score: { points: 0, maxPoints: 0, percent: 0, rubricMaxPoints: rubricMaxPoints(options.rubric) },
    criteria: score.criteria,
    findings: [],
    evidence: [],
    stages: [fetch],
    startedAt: t.startedAt.toISOString(),
    finishedAt: t.clock.now().toISOString(),
    durationMs: Math.round((t.clock.monotonicMs() - t.startedMono) * 10) / 10,
  };
}
