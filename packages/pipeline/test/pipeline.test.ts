import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  CheckRegistry,
  InfrastructureError,
  NotGradableError,
  UsageError,
  catalogOf,
  outcomeFromSubjects,
  reportSchema,
  type CheckDefinition,
  type ConfiguredCheck,
  type GradingStage,
  type ManifestInventory,
} from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource, gradeSourceWithExcerpts, type PipelineDeps, type PipelineEvent } from '@labgrader/pipeline';
import { parseRubric, type Rubric } from '@labgrader/rubric';
import { makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';

interface LintCtx {
  files: string[];
}
interface DocsCtx {
  inventory: ManifestInventory;
}

const yamlFiles: CheckDefinition<LintCtx, { suffix: string }> = {
  id: 'lint/named-yaml',
  stage: 'lint',
  title: 'YAML files end in .yaml',
  rationale: 'consistency',
  severity: 'warning',
  fixHint: 'Rename it.',
  docsUrl: 'https://example.com/named-yaml',
  options: z.object({ suffix: z.string().default('.yaml') }),
  check: (ctx, opts) =>
    outcomeFromSubjects(
      ctx.files,
      ctx.files
        .filter((f) => !f.endsWith(opts.suffix))
        .map((f) => ({
          checkId: 'lint/named-yaml',
          severity: 'warning',
          message: `${f} should end in ${opts.suffix}`,
          subject: f,
          location: { file: f, line: 1, column: 1 },
        })),
    ),
};
const crashes: CheckDefinition<LintCtx> = {
  ...yamlFiles,
  id: 'lint/crashes',
  options: z.object({}),
  check: () => {
    throw new Error('bug in rule');
  },
};
const seesInventory: CheckDefinition<DocsCtx> = {
  id: 'docs/sees-inventory',
  stage: 'docs',
  title: 'docs check that reads the lint inventory',
  rationale: 'r',
  severity: 'error',
  fixHint: 'f',
  options: z.object({}),
  check: (ctx) => ({ findings: [], examined: 1, passed: ctx.inventory.objects.length > 0 ? 1 : 0 }),
};

type LintBehaviour = 'ok' | 'no-manifests' | 'hang' | 'infra' | 'bug' | 'hang-then-clean-up';

/** What the last prepare() saw and did, for the tests that look at the stage contract. */
const seen: { checks?: readonly ConfiguredCheck[] | undefined; cleanedUp?: boolean } = {};

function lintStage(behaviour: () => LintBehaviour): GradingStage<{ extension: string }, LintCtx> {
  return {
    name: 'lint',
    settingsSchema: z.object({ extension: z.string().default('yml') }),
    registry: new CheckRegistry<LintCtx>('lint', [yamlFiles, crashes]),
    async prepare(input) {
      input.progress('listing files');
      seen.checks = input.checks;
      const mode = behaviour();
      if (mode === 'hang') await new Promise(() => {});
      if (mode === 'hang-then-clean-up') {
        seen.cleanedUp = false;
        // Hold a resource until aborted, then take a while to release it (like deleting a cluster).
        await new Promise<void>((resolve) => input.signal.addEventListener('abort', () => resolve(), { once: true }));
        await new Promise((resolve) => setTimeout(resolve, 300));
        seen.cleanedUp = true;
        throw new InfrastructureError('cleaned up after the abort');
      }
      if (mode === 'infra') throw new InfrastructureError('kubectl could not start');
      if (mode === 'bug') throw new TypeError('undefined is not a function');
      if (mode === 'no-manifests')
        return {
          context: { files: [] },
          notGradable: {
            reason: 'no-manifests',
            message: 'no Kubernetes manifests found',
            hint: 'Add them under k8s/.',
          },
        };
      const files = (await input.repo.list()).filter((e) => /\.ya?ml$/.test(e.path)).map((e) => e.path);
      return {
        context: { files },
        inventory: {
          files,
          objects: files.map((f) => ({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: f,
            location: { file: f, line: 1, column: 1 },
          })),
        },
      };
    },
  };
}

const docsStage: GradingStage<Record<string, never>, DocsCtx> = {
  name: 'docs',
  settingsSchema: z.object({}),
  registry: new CheckRegistry<DocsCtx>('docs', [seesInventory]),
  prepare: async (input) => ({ context: { inventory: input.inventory } }),
};

let behaviour: LintBehaviour = 'ok';
const stages = { lint: lintStage(() => behaviour), docs: docsStage };
const env = {
  catalog: catalogOf(stages.lint.registry, stages.docs.registry),
  stageSettings: { lint: stages.lint.settingsSchema, docs: stages.docs.settingsSchema },
};

function rubric(extra = ''): Rubric {
  return parseRubric(
    `apiVersion: labgrader.dev/v1
kind: Rubric
id: fake
title: Fake lab
stages:
  lint: { timeoutSeconds: 0.5 }
criteria:
  - id: naming
    title: Naming
    points: 10
    checks: [lint/named-yaml]
  - id: docs
    title: Docs
    points: 5
    checks: [docs/sees-inventory]
${extra}`,
    'fake.yaml',
    env,
  );
}

const runner = createExecaRunner();
let labDir: string;
let remote: BareRepo;

beforeAll(() => {
  labDir = tempDir();
  mkdirSync(path.join(labDir, 'k8s'));
  writeFileSync(path.join(labDir, 'k8s', 'a.yaml'), 'kind: ConfigMap\n');
  writeFileSync(path.join(labDir, 'k8s', 'b.yml'), 'kind: ConfigMap\n');
  remote = makeBareRepo(labDir);
  remote.commit('lab');
});
afterAll(() => remote.cleanup());

async function grade(
  r: Rubric,
  extra: Partial<PipelineDeps> = {},
  source = { kind: 'directory' as const, path: labDir },
) {
  const events: PipelineEvent[] = [];
  const report = await gradeSource(source, { rubric: r }, { runner, stages, onEvent: (e) => events.push(e), ...extra });
  expect(reportSchema.parse(report)).toEqual(report);
  return { report, events };
}

describe('gradeSource', () => {
  it('grades a directory end to end: partial credit, findings with fix hints, inventory handed to docs', async () => {
    behaviour = 'ok';
    const { report, events } = await grade(rubric());
    expect(report.status).toBe('graded');
    expect(report.criteria.map((c) => [c.id, c.points, c.status])).toEqual([
      ['naming', 5, 'partial'],
      ['docs', 5, 'passed'],
    ]);
    expect(report.score).toEqual({ points: 10, maxPoints: 15, percent: 66.7, rubricMaxPoints: 15 });
    expect(report.findings).toEqual([
      {
        checkId: 'lint/named-yaml',
        severity: 'warning',
        message: 'k8s/b.yml should end in .yaml',
        subject: 'k8s/b.yml',
        location: { file: 'k8s/b.yml', line: 1, column: 1 },
        fixHint: 'Rename it.',
        docsUrl: 'https://example.com/named-yaml',
        criteria: ['naming'],
      },
    ]);
    expect(report.stages.map((s) => [s.name, s.status])).toEqual([
      ['fetch', 'ok'],
      ['lint', 'ok'],
      ['docs', 'ok'],
      ['score', 'ok'],
    ]);
    expect(events).toContainEqual({ type: 'progress', stage: 'lint', message: 'listing files' });
    expect(events.filter((e) => e.type === 'stage-end').map((e) => e.stage)).toEqual([
      'fetch',
      'lint',
      'docs',
      'score',
    ]);
  });

  it('grades a git URL at a commit and records it', async () => {
    behaviour = 'ok';
    const sha = remote.commit('again');
    const { report } = await grade(rubric(), {}, { kind: 'git', url: remote.url, ref: sha } as never);
    expect(report.submission).toMatchObject({ source: 'git', commit: sha, ref: sha });
    expect(report.status).toBe('graded');
  });

  it('reports a repository without manifests as not gradable, still grading the docs', async () => {
    behaviour = 'no-manifests';
    const { report } = await grade(rubric());
    expect(report.status).toBe('not-gradable');
    expect(report.notGradable).toEqual({
      reason: 'no-manifests',
      message: 'no Kubernetes manifests found',
      hint: 'Add them under k8s/.',
    });
    expect(report.criteria.map((c) => c.status)).toEqual(['not-gradable', 'failed']);
  });

  it('stops a stage that exceeds its time budget and marks the report not gradable', async () => {
    behaviour = 'hang';
    const { report } = await grade(rubric());
    expect(report.stages.find((s) => s.name === 'lint')).toMatchObject({
      status: 'timed-out',
      budgetMs: 500,
      message: 'the lint stage exceeded its 0.5 s time budget',
    });
    expect(report.notGradable?.reason).toBe('timed-out');
  });

  it('separates infrastructure failures and labgrader bugs from student mistakes', async () => {
    behaviour = 'infra';
    let { report } = await grade(rubric());
    expect(report.stages.find((s) => s.name === 'lint')).toMatchObject({
      status: 'failed',
      message: 'kubectl could not start',
    });
    expect(report.notGradable).toMatchObject({ reason: 'stage-failed', hint: 'Try again later.' });
    behaviour = 'bug';
    ({ report } = await grade(rubric()));
    expect(report.notGradable).toMatchObject({
      reason: 'stage-failed',
      message: 'the lint stage failed: internal error: undefined is not a function',
    });
    expect(report.criteria[0]).toMatchObject({ status: 'not-gradable', points: 0 });
  });

  it('isolates a crashing check to its own criterion', async () => {
    behaviour = 'ok';
    const { report } = await grade(
      rubric('  - id: crash\n    title: Crash\n    points: 3\n    checks: [lint/crashes]\n'),
    );
    expect(report.criteria.find((c) => c.id === 'crash')).toMatchObject({
      status: 'not-gradable',
      summary: 'not graded: lint/crashes failed (Error: bug in rule)',
    });
    expect(report.criteria.find((c) => c.id === 'naming')?.status).toBe('partial');
    expect(report.score.maxPoints).toBe(15);
  });

  it('skips a stage on request without counting its points', async () => {
    behaviour = 'ok';
    const r = rubric();
    const report = await gradeSource(
      { kind: 'directory', path: labDir },
      { rubric: r, skip: { docs: '--docs none' } },
      { runner, stages },
    );
    expect(report.stages.find((s) => s.name === 'docs')).toMatchObject({ status: 'skipped', message: '--docs none' });
    expect(report.score).toMatchObject({ points: 5, maxPoints: 10, rubricMaxPoints: 15 });
    expect(report.status).toBe('graded');
  });

  it('turns an unclonable URL into a not-gradable report, and a missing path into a usage error', async () => {
    const { report } = await grade(rubric(), {}, { kind: 'git', url: `file://${tempDir()}/missing.git` } as never);
    expect(report).toMatchObject({
      status: 'not-gradable',
      notGradable: { reason: 'fetch-failed' },
      stages: [{ name: 'fetch', status: 'not-gradable' }],
    });
    expect(report.criteria.every((c) => c.status === 'not-gradable')).toBe(true);
    await expect(
      gradeSource({ kind: 'directory', path: '/no/such/lab' }, { rubric: rubric() }, { runner, stages }),
    ).rejects.toBeInstanceOf(UsageError);
  });

  it('tells prepare() which of its checks the rubric configures, with their options', async () => {
    behaviour = 'ok';
    await grade(rubric('  - id: crash\n    title: Crash\n    points: 3\n    checks: [lint/crashes]\n'));
    expect(seen.checks).toEqual([
      { id: 'lint/named-yaml', options: { suffix: '.yaml' }, weight: 1 },
      { id: 'lint/crashes', options: {}, weight: 1 },
    ]);
  });

  it("waits up to the stage's abortGraceMs for it to clean up after a timeout, and no longer", async () => {
    behaviour = 'hang-then-clean-up';
    const graceful = { ...stages, lint: { ...stages.lint, abortGraceMs: 5_000 } };
    let { report } = await grade(rubric(), { stages: graceful });
    expect(seen.cleanedUp).toBe(true);
    expect(report.stages.find((s) => s.name === 'lint')).toMatchObject({ status: 'timed-out' });
    expect(report.notGradable?.reason).toBe('timed-out');

    // Without a grace period the pipeline stops waiting at the deadline.
    ({ report } = await grade(rubric()));
    expect(seen.cleanedUp).toBe(false);
    expect(report.notGradable?.reason).toBe('timed-out');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen.cleanedUp).toBe(true);

    // A grace period is a bound, not a promise to wait forever.
    const short = { ...stages, lint: { ...stages.lint, abortGraceMs: 50 } };
    ({ report } = await grade(rubric(), { stages: short }));
    expect(seen.cleanedUp).toBe(false);
    expect(report.notGradable?.reason).toBe('timed-out');
    await new Promise((resolve) => setTimeout(resolve, 400));
  });

  it('cancels the job when the caller aborts', async () => {
    behaviour = 'hang';
    const controller = new AbortController();
    setTimeout(() => controller.abort(new NotGradableError('timed-out', 'worker shutting down')), 50);
    const { report } = await grade(rubric(), { signal: controller.signal });
    expect(report.notGradable).toMatchObject({ message: 'worker shutting down' });
  });
});

describe('gradeSource: what a criterion requires', () => {
  const requiring = (id: string, requires: string) =>
    `  - id: ${id}\n    title: ${id}\n    points: 4\n    requires: ${requires}\n    checks: [{ id: lint/named-yaml, options: { suffix: .yml } }]\n`;

  it("hands the lint stage's inventory to scoring: missing objects cost the criterion with what was expected", async () => {
    behaviour = 'ok';
    const { report } = await grade(
      rubric(
        requiring(
          'wants-deployment',
          '{ anyOf: [{ kind: Deployment }], message: "no Deployment: Fake lab asks for one" }',
        ) + requiring('wants-configmap', '{ anyOf: [{ kind: ConfigMap }] }'),
      ),
    );
    expect(report.criteria.filter((c) => c.id.startsWith('wants-')).map((c) => [c.id, c.points, c.status])).toEqual([
      ['wants-deployment', 0, 'failed'],
      // The fake lint stage's inventory holds ConfigMaps; the check fails a.yaml (suffix .yml) → 4 × 1/2.
      ['wants-configmap', 2, 'partial'],
    ]);
    expect(report.findings.filter((f) => f.checkId === 'rubric/requirement')).toEqual([
      {
        checkId: 'rubric/requirement',
        severity: 'error',
        message: 'no Deployment: Fake lab asks for one',
        subject: 'criterion wants-deployment',
        criteria: ['wants-deployment'],
      },
    ]);
    expect(report.score).toMatchObject({ points: 12, maxPoints: 23 });
  });
});

describe('gradeSourceWithExcerpts', () => {
  it('keeps the lines around each finding from the workspace, redacted, and still removes the workspace', async () => {
    behaviour = 'ok';
    const dir = tempDir();
    mkdirSync(path.join(dir, 'k8s'));
    writeFileSync(
      path.join(dir, 'k8s', 'secret.yml'),
      'kind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n',
    );
    writeFileSync(path.join(dir, 'k8s', 'ok.yaml'), 'kind: ConfigMap\n');
    const tempRoot = tempDir();
    const { report, excerpts } = await gradeSourceWithExcerpts(
      { kind: 'directory', path: dir },
      { rubric: rubric() },
      { runner, stages, workspace: { tempRoot } },
    );
    expect(report.findings.map((f) => f.location?.file)).toEqual(['k8s/secret.yml']);
    expect(excerpts).toEqual({
      version: 1,
      excerpts: [
        {
          file: 'k8s/secret.yml',
          startLine: 1,
          lines: ['kind: Secret', 'metadata:', '  name: db', 'stringData:'],
        },
      ],
      omitted: 0,
    });
    expect(JSON.stringify(excerpts)).not.toContain('hunter2');
    expect(readdirSync(tempRoot)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('has none when the submission could not be fetched', async () => {
    const { report, excerpts } = await gradeSourceWithExcerpts(
      { kind: 'git', url: `file://${path.join(labDir, 'no-such-repository.git')}` },
      { rubric: rubric() },
      { runner, stages },
    );
    expect(report.status).toBe('not-gradable');
    expect(excerpts).toBeUndefined();
  });
});
