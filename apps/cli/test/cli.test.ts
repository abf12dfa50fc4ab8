import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { reportJsonSchema, type Report } from '@labgrader/core';
import { makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';
import { runCli } from '../../../test/support/cli.js';

const root = new URL('../../../', import.meta.url).pathname;
const passing = path.join(root, 'examples/lab-85-passing');
const require = createRequire(import.meta.url);

let work: string;
let remote: BareRepo;

beforeAll(() => {
  work = tempDir();
  remote = makeBareRepo(passing);
  remote.commit('lab 85');
});
afterAll(() => {
  remote.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function copyOfPassing(name: string): string {
  const dir = path.join(work, name);
  cpSync(passing, dir, { recursive: true });
  return dir;
}

describe('labgrader grade: outputs', () => {
  it('prints a full text report for the passing lab and exits 0', async () => {
    const r = await runCli(['grade', 'examples/lab-85-passing', '--cluster', 'none']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Score  80 / 80  (100%)');
    expect(r.stdout).toContain("20 of the rubric's 100 points were not graded (see below)");
    expect(r.stdout).toContain('Embedded architecture diagram');
    expect(r.stderr).toMatch(/✔ lint +\d+ ms/); // progress on stderr, report on stdout
  });

  it('emits JSON that validates against the published report schema', async () => {
    const r = await runCli([
      'grade',
      '--cluster',
      'none',
      'examples/lab-85-flawed-probes',
      '--format',
      'json',
      '--no-progress',
    ]);
    const validate = new Ajv2020.default({ strict: false }).compile(reportJsonSchema());
    const json = JSON.parse(r.stdout) as Report;
    expect(validate(json) ? [] : validate.errors).toEqual([]);
    expect(json.schemaVersion).toBe(1);
  });

  it('emits SARIF 2.1.0 that validates, with rules for the findings', async () => {
    const r = await runCli([
      'grade',
      '--cluster',
      'none',
      'examples/lab-85-flawed-secrets',
      '--format',
      'sarif',
      '--no-progress',
    ]);
    const schema = JSON.parse(
      readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
    ) as object;
    const ajv = new AjvDraft04.default({ strict: false, unicodeRegExp: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const log = JSON.parse(r.stdout) as {
      runs: { tool: { driver: { rules: { id: string; help?: { text: string } }[] } }; results: unknown[] }[];
    };
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    expect(log.runs[0]?.results).toHaveLength(4);
    expect(log.runs[0]?.tool.driver.rules.find((rule) => rule.id === 'lint/env-secret-literal')?.help?.text).toContain(
      'secretKeyRef',
    );
  });

  it('renders Markdown for a PR comment', async () => {
    const r = await runCli([
      'grade',
      '--cluster',
      'none',
      'examples/lab-85-flawed-docs',
      '--format',
      'markdown',
      '--no-progress',
    ]);
    expect(r.stdout).toMatch(/^## labgrader: Lab 85/);
    expect(r.stdout).toContain('| Embedded architecture diagram | 0 / 10 | ❌ failed |');
  });

  it('writes the report to --out atomically', async () => {
    const out = path.join(work, 'report.json');
    const r = await runCli([
      'grade',
      '--cluster',
      'none',
      'examples/lab-85-passing',
      '--format',
      'json',
      '--out',
      out,
      '--no-progress',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as Report).score.percent).toBe(100);
  });

  it('exits 1 below --fail-under and 0 at or above it', async () => {
    // 47.5 of the 80 points graded without the cluster stage: 59.4%.
    const grade = (threshold: string) =>
      runCli(['grade', 'examples/lab-85-flawed-docs', '--cluster', 'none', '--fail-under', threshold, '--no-progress']);
    expect((await grade('60')).code).toBe(1);
    expect((await grade('59')).code).toBe(0);
  });

  it('grades a git URL at a given commit', async () => {
    const sha = remote.commit('empty commit');
    const r = await runCli([
      'grade',
      '--cluster',
      'none',
      remote.url,
      '--ref',
      sha,
      '--format',
      'json',
      '--no-progress',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.submission).toMatchObject({ source: 'git', commit: sha, repository: remote.url });
    expect(report.score.percent).toBe(100);
  });

  it("grades a bare repository's path as the repository it holds (cloned), not as git's own files", async () => {
    const r = await runCli(['grade', remote.bareDir, '--cluster', 'none', '--format', 'json', '--no-progress']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.submission).toMatchObject({ source: 'git', repository: `file://${remote.bareDir}` });
    expect(report.score.percent).toBe(100);
  });

  it('grades with the bundled production-readiness rubric by id', async () => {
    const r = await runCli([
      'grade',
      'examples/lab-85-passing',
      '--rubric',
      'production-readiness',
      '--format',
      'json',
      '--no-progress',
    ]);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.rubric.id).toBe('production-readiness');
    expect(report.criteria.map((c) => c.id)).toEqual([
      'valid-manifests',
      'resources',
      'health-checks',
      'rbac-least-privilege',
      'replicas-and-pdb',
      'observability',
      'security-baseline',
      'deploys-in-cluster',
      'survives-node-loss',
    ]);
  });
});

describe('labgrader grade: bad input', () => {
  it('a path that does not exist: exit 2 with a clear message', async () => {
    const r = await runCli(['grade', 'no/such/lab', '--cluster', 'none']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("labgrader: 'no/such/lab' does not exist");
  });

  it('a URL that cannot be cloned: exit 3 and a not-gradable report', async () => {
    const r = await runCli(['grade', `file://${work}/missing.git`, '--cluster', 'none', '--no-progress']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('NOT GRADABLE  could not clone file://');
    expect(r.stdout).toContain('Check that the URL is right');
  });

  it('a rubric with an unknown check id or a typo: exit 2 naming file, line and fix', async () => {
    const rubric = path.join(work, 'bad-rubric.yaml');
    writeFileSync(
      rubric,
      readFileSync(path.join(root, 'rubrics/lab-85.yaml'), 'utf8')
        .replace('- lint/secret-committed', '- lint/secret-comitted')
        .replace(
          '    points: 10\n    checks:\n      - id: docs/diagram-embedded',
          '    pionts: 10\n    checks:\n      - id: docs/diagram-embedded',
        ),
    );
    const r = await runCli(['grade', 'examples/lab-85-passing', '--rubric', rubric]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /bad-rubric\.yaml:\d+:\d+: criteria\[1\]: unknown field 'pionts'; did you mean 'points'\?/,
    );
    expect(r.stderr).toMatch(
      /bad-rubric\.yaml:\d+:\d+: criteria\[2\]\.checks\[1\]: unknown check id 'lint\/secret-comitted'; did you mean 'lint\/secret-committed'\?/,
    );
  });

  it('a rubric that does not exist: exit 2 listing the bundled ones', async () => {
    const r = await runCli(['grade', 'examples/lab-85-passing', '--rubric', 'lab-99']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rubric 'lab-99' not found");
    expect(r.stderr).toContain('lab-85, production-readiness');
  });

  it('bad flags: exit 2', async () => {
    expect((await runCli(['grade', 'examples/lab-85-passing', '--format', 'xml'])).code).toBe(2);
    expect((await runCli(['grade', 'examples/lab-85-passing', '--fail-under', '120'])).code).toBe(2);
    expect((await runCli(['grade', 'examples/lab-85-passing', '--ref', 'abc'])).stderr).toContain(
      '--ref only applies to git URLs',
    );
    expect((await runCli(['grade'])).code).toBe(2);
    expect((await runCli(['grdae'])).stderr).toContain('(Did you mean grade?)');
  });

  it('--cluster: kind where kind is missing is not gradable with a hint; auto skips and says why; none skips', async () => {
    const env = { LABGRADER_KIND: '/nonexistent/bin/kind' };
    const json = async (args: string[]) => {
      const r = await runCli(['grade', 'examples/lab-85-passing', ...args, '--format', 'json', '--no-progress'], {
        env,
      });
      return { code: r.code, report: JSON.parse(r.stdout) as Report };
    };
    const kind = await json(['--cluster', 'kind']);
    expect(kind.code).toBe(3);
    expect(kind.report.notGradable).toEqual({
      reason: 'cluster-unavailable',
      message: "the cluster stage needs 'kind', which is not installed here (looked for '/nonexistent/bin/kind')",
      hint: 'Install it or point LABGRADER_KIND at it, or grade without the cluster stage (--cluster none).',
    });
    // Not a zero: what could be graded was, the cluster criteria are not counted.
    expect(kind.report.criteria.filter((c) => c.stage === 'cluster').every((c) => c.status === 'not-gradable')).toBe(
      true,
    );
    expect(kind.report.criteria.filter((c) => c.stage !== 'cluster').every((c) => c.status === 'passed')).toBe(true);

    const auto = await json(['--cluster', 'auto']);
    expect(auto.code).toBe(0);
    expect(auto.report.stages.find((s) => s.name === 'cluster')).toMatchObject({
      status: 'skipped',
      message: expect.stringMatching(
        /^--cluster auto: kind is not installed \(looked for '\/nonexistent\/bin\/kind'\); Install kind/,
      ) as unknown,
    });
    expect(auto.report.score).toEqual({ points: 80, maxPoints: 80, percent: 100, rubricMaxPoints: 100 });
    expect((await json(['--cluster', 'none'])).report.stages.find((s) => s.name === 'cluster')?.message).toBe(
      '--cluster none',
    );
  });

  it('Ctrl-C during the cluster stage deletes the cluster before the report is written', async () => {
    // Stand-ins for kind, kubectl and docker that record what they are asked (no cluster needed).
    const bin = path.join(work, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    const script = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    script(
      'kind',
      `case "$1" in version) echo kind v0.30.0;; create) touch ${bin}/creating; exec sleep 60;; delete) touch ${bin}/deleted;; esac`,
    );
    script('kubectl', 'echo "Client Version: v1.34.4"');
    script('docker', 'case "$1" in info) echo 20.10.24;; esac');
    const env = {
      LABGRADER_KIND: path.join(bin, 'kind'),
      LABGRADER_KUBECTL: path.join(bin, 'kubectl'),
      LABGRADER_DOCKER: path.join(bin, 'docker'),
    };
    const running = runCli(
      ['grade', 'examples/lab-85-passing', '--cluster', 'kind', '--format', 'json', '--no-progress'],
      {
        env,
      },
    );
    while (!existsSync(path.join(bin, 'creating'))) await new Promise((r) => setTimeout(r, 50));
    process.emit('SIGINT', 'SIGINT');
    // People press it twice: the second does not quit (which would leave the cluster and its kubeconfig behind).
    process.emit('SIGINT', 'SIGINT');
    const r = await running;
    expect(existsSync(path.join(bin, 'deleted'))).toBe(true);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('SIGINT: stopping; cleaning up (deleting the cluster)');
    expect(r.stderr).toContain(
      'SIGINT: still cleaning up (deleting the cluster); press Ctrl-C once more to quit at once',
    );
    expect((JSON.parse(r.stdout) as Report).notGradable).toEqual({
      reason: 'stage-failed',
      message: 'grading was interrupted (SIGINT)',
      hint: 'Nothing was graded from the interrupted stage on; run labgrader grade again.',
    });
    // The handlers are gone once the command is done.
    expect(process.listeners('SIGINT').filter((l) => l.name === 'onSignal')).toEqual([]);
  });

  it('--cluster and --kube-context: contradictions and rubrics without cluster criteria are usage errors', async () => {
    let r = await runCli(['grade', 'examples/lab-85-passing', '--cluster', 'kind', '--kube-context', 'kind-x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--kube-context cannot be combined with --cluster kind');
    const lintOnly = path.join(work, 'lint-only.yaml');
    writeFileSync(
      lintOnly,
      'apiVersion: labgrader.dev/v1\nkind: Rubric\nid: lint-only\ntitle: Lint only\ncriteria:\n  - { id: valid, title: Valid, points: 10, checks: [lint/yaml-valid] }\n',
    );
    r = await runCli(['grade', 'examples/lab-85-passing', '--rubric', lintOnly, '--cluster', 'kind']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--cluster kind: the rubric 'lint-only' grades nothing in a cluster");
    r = await runCli(
      ['grade', 'examples/lab-85-passing', '--kube-context', 'no-such-context', '--format', 'json', '--no-progress'],
      { env: { KUBECONFIG: '/nonexistent/kubeconfig' } },
    );
    // auto with an existing cluster that does not answer: skipped, with the reason.
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).stages.find((s) => s.name === 'cluster')).toMatchObject({
      status: 'skipped',
      message: expect.stringMatching(
        /^--cluster auto: the cluster \(context no-such-context\) does not answer: error: context "no-such-context" does not exist/,
      ) as unknown,
    });
  });

  it('a repo with no manifests: exit 3, not a zero', async () => {
    const r = await runCli(['grade', '--cluster', 'none', 'examples/lab-85-no-manifests', '--no-progress']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('NOT GRADABLE  the repository contains no Kubernetes manifests');
  });

  it('files that are not UTF-8 become findings at their path, nothing crashes', async () => {
    const dir = copyOfPassing('latin1');
    writeFileSync(
      path.join(dir, 'k8s', 'extra.yaml'),
      Buffer.concat([
        Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf'),
        Buffer.from([0xe9]),
        Buffer.from('\n'),
      ]),
    );
    const notes = readFileSync(path.join(dir, 'architecture-notes.md'));
    writeFileSync(path.join(dir, 'architecture-notes.md'), Buffer.concat([notes, Buffer.from([0xff, 0xfe, 0x0a])]));
    const r = await runCli(['grade', '--cluster', 'none', dir, '--format', 'json', '--no-progress']);
    const report = JSON.parse(r.stdout) as Report;
    const files = report.findings.map((f) => `${f.checkId} ${f.location?.file}`);
    expect(files).toContain('lint/yaml-valid k8s/extra.yaml');
    expect(report.findings.find((f) => f.location?.file === 'architecture-notes.md')?.message).toMatch(/UTF-8/);
  });

  it('never follows a symlink out of the repository', async () => {
    const dir = copyOfPassing('symlinks');
    const secret = path.join(work, 'outside-secret.yaml');
    writeFileSync(
      secret,
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\nstringData:\n  token: TOP-SECRET-VALUE\n',
    );
    symlinkSync(secret, path.join(dir, 'k8s', 'stolen.yaml'));
    rmSync(path.join(dir, 'docs', 'architecture.svg'));
    symlinkSync('/etc/passwd', path.join(dir, 'docs', 'architecture.svg'));
    const r = await runCli(['grade', '--cluster', 'none', dir, '--format', 'json', '--no-progress']);
    expect(r.stdout).not.toContain('TOP-SECRET-VALUE');
    expect(r.stdout).not.toContain('root:x:0:0');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.find((f) => f.location?.file === 'k8s/stolen.yaml')?.message).toMatch(/symlink/i);
    expect(report.criteria.find((c) => c.id === 'architecture-diagram')?.points).toBe(0);
    expect(report.findings.find((f) => f.checkId === 'docs/diagram-embedded')?.message).toMatch(
      /outside the repository/,
    );
  });
});

describe('labgrader lint / docs / checks / rubric', () => {
  it('lint: a single file, linter-style output, exit 1 on errors', async () => {
    const r = await runCli(['lint', 'examples/lab-85-flawed-probes/k8s/deployment.yaml', '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'deployment.yaml:34:11  error    Container "web" of Deployment lab85/web has no readinessProbe',
    );
    expect(r.stdout).not.toContain('Score');
  });

  it('lint: a clean directory exits 0; --fail-on none never fails', async () => {
    expect((await runCli(['lint', 'examples/lab-85-passing', '--no-progress'])).code).toBe(0);
    expect((await runCli(['lint', 'examples/lab-85-flawed-probes', '--fail-on', 'none', '--no-progress'])).code).toBe(
      0,
    );
  });

  it("lint: runs every rule by default, or the rubric's lint criteria with --rubric, in SARIF too", async () => {
    const all = JSON.parse((await runCli(['lint', 'examples/lab-85-passing', '--format', 'json'])).stdout) as Report;
    const checks = JSON.parse((await runCli(['checks', '--stage', 'lint', '--format', 'json'])).stdout) as {
      id: string;
    }[];
    expect(all.criteria.map((c) => c.checks[0]?.id).sort()).toEqual(checks.map((c) => c.id).sort());
    const withRubric = JSON.parse(
      (await runCli(['lint', 'examples/lab-85-passing', '--rubric', 'lab-85', '--format', 'json'])).stdout,
    ) as Report;
    expect(withRubric.criteria.filter((c) => c.status !== 'skipped').every((c) => c.stage === 'lint')).toBe(true);
    const sarif = JSON.parse((await runCli(['lint', 'examples/lab-85-flawed-probes', '--format', 'sarif'])).stdout) as {
      version: string;
    };
    expect(sarif.version).toBe('2.1.0');
  });

  it('docs: checks only the notes', async () => {
    const r = await runCli(['docs', 'examples/lab-85-flawed-docs', '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('architecture-notes.md:3:1  error    The image docs/architecture.png');
    expect(r.stdout).not.toContain('lint/');
  });

  it('checks: lists every check with its options', async () => {
    const r = await runCli(['checks']);
    expect(r.stdout).toContain('docs/diagram-embedded  (error)');
    expect(r.stdout).toContain('lint/replicas  (warning)');
    expect(r.stdout).toMatch(/options: minReplicas=2/);
  });

  it('rubric validate: every bundled rubric is valid; a broken one exits 2', async () => {
    const ok = await runCli(['rubric', 'validate', 'rubrics/lab-85.yaml', 'rubrics/production-readiness.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✔ rubrics/lab-85.yaml: lab-85');
    const bad = path.join(work, 'broken.yaml');
    mkdirSync(path.dirname(bad), { recursive: true });
    writeFileSync(bad, 'apiVersion: labgrader.dev/v1\nkind: Rubric\nid: x\ntitle: X\ncriteria: []\n');
    const r = await runCli(['rubric', 'validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('criteria: a rubric needs at least one criterion');
  });

  it('--version and --help exit 0', async () => {
    expect((await runCli(['--version'])).stdout.trim()).toBe('0.1.0');
    const help = await runCli(['grade', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--fail-under <percent>');
  });
});
