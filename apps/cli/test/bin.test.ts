/**
 * The installed command as a user runs it: bin/labgrader.cjs in a child
 * process, running the bundle (scripts/bundle.mjs, built here into a
 * temporary directory from the current sources, so the test never runs a
 * stale build), with real exit codes, the rubrics, Kubernetes schemas and
 * Markdown worker read from the repository, and the compile cache.
 * The other CLI tests run main() in-process against the sources.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import nodeModule from 'node:module';
import path from 'node:path';
import type { Report } from '@labgrader/core';
import { tempDir } from '../../../test/support/git-fixtures.js';
import { runCli } from '../../../test/support/cli.js';

const root = new URL('../../../', import.meta.url).pathname;
const cliDir = path.join(root, 'apps/cli');
let work: string;
let bin: string;

beforeAll(() => {
  work = tempDir();
  mkdirSync(path.join(work, 'bin'));
  bin = path.join(work, 'bin', 'labgrader.cjs');
  copyFileSync(path.join(cliDir, 'bin', 'labgrader.cjs'), bin);
  execFileSync(
    process.execPath,
    [path.join(cliDir, 'scripts/bundle.mjs'), '--outfile', path.join(work, 'dist', 'labgrader.cjs')],
    {
      stdio: 'pipe',
    },
  );
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The text report without its stage timings, which differ from run to run. */
const untimed = (text: string) => text.replace(/^stages: .*$/m, 'stages: …');

function labgrader(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LABGRADER_CACHE_DIR: path.join(work, 'cache'), ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the labgrader command (bin/labgrader.cjs, bundled)', () => {
  it('is what package.json links as `labgrader`, a file in the repository', () => {
    const manifest = JSON.parse(readFileSync(path.join(cliDir, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ labgrader: './bin/labgrader.cjs' });
    const shim = path.join(cliDir, manifest.bin.labgrader!);
    expect(readFileSync(shim, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(shim).mode & 0o111).not.toBe(0);
  });

  it('grades an example lab like the in-process CLI: same report, exit 0', async () => {
    const args = ['grade', 'examples/lab-85-flawed-probes', '--cluster', 'none', '--format', 'json', '--no-progress'];
    const r = labgrader(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    const inProcess = JSON.parse((await runCli(args)).stdout) as Report;
    expect(report.rubric).toEqual(inProcess.rubric); // rubrics/lab-85.yaml, found on disk
    expect(report.score).toEqual(inProcess.score);
    expect(report.findings.map((f) => [f.checkId, f.location?.file, f.location?.line])).toEqual(
      inProcess.findings.map((f) => [f.checkId, f.location?.file, f.location?.line]),
    );
    expect(report.findings.length).toBeGreaterThan(0);
  });

  it('prints the text report, with exit 1 under --fail-under', () => {
    const r = labgrader(['grade', 'examples/lab-85-flawed-probes', '--cluster', 'none', '--fail-under', '100']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Score +[\d.]+ \/ [\d.]+ +\([\d.]+%\)/);
    expect(r.stderr).toMatch(/✔ lint +\d+ ms/);
    expect(r.stderr).toMatch(/is below --fail-under 100%/);
  });

  it('lints with the Kubernetes schema and docs-checks with the Markdown worker, from the repository', () => {
    const lint = labgrader(['lint', 'examples/lab-85-flawed-probes/k8s/deployment.yaml', '--no-progress']);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toContain(
      'deployment.yaml:34:11  error    Container "web" of Deployment lab85/web has no readinessProbe',
    );
    const clean = labgrader(['lint', 'examples/lab-85-passing', '--no-progress']);
    expect([clean.code, clean.stderr]).toEqual([0, '']);
    const docs = labgrader(['docs', 'examples/lab-85-flawed-docs', '--no-progress']);
    expect(docs.code).toBe(1);
    expect(docs.stdout).toContain('architecture-notes.md:3:1  error    The image docs/architecture.png');
  });

  it('keeps the exit codes: 2 for usage and rubric errors, 3 for what cannot be graded', () => {
    expect(labgrader(['grade']).code).toBe(2);
    const rubric = labgrader(['grade', 'examples/lab-85-passing', '--rubric', 'lab-99', '--cluster', 'none']);
    expect(rubric.code).toBe(2);
    expect(rubric.stderr).toContain("labgrader: rubric 'lab-99' not found");
    const none = labgrader(['grade', 'examples/lab-85-no-manifests', '--cluster', 'none', '--no-progress']);
    expect(none.code).toBe(3);
    const help = labgrader(['--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: labgrader [options] [command]')]);
  });

  it('compiles once: the second run uses the code cache and prints the same', () => {
    const env = { LABGRADER_DEBUG_COMPILE_CACHE: '1', LABGRADER_CACHE_DIR: path.join(work, 'cache-2') };
    const args = ['lint', 'examples/lab-85-flawed-probes', '--no-progress', '--fail-on', 'none'];
    const first = labgrader(args, env);
    const second = labgrader(args, env);
    if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function') {
      expect(second.stderr).toContain("compile cache: Node's");
    } else {
      expect(first.stderr).toContain('compile cache: none yet');
      expect(second.stderr).toContain('compile cache: used');
      expect(readdirSync(path.join(work, 'cache-2', 'compile-cache'))).toEqual(['labgrader-lint.bin']);
    }
    expect([second.code, untimed(second.stdout)]).toEqual([first.code, untimed(first.stdout)]);
    const off = labgrader(args, {
      ...env,
      LABGRADER_CACHE_DIR: path.join(work, 'cache-3'),
      NODE_DISABLE_COMPILE_CACHE: '1',
    });
    expect([off.code, untimed(off.stdout)]).toEqual([first.code, untimed(first.stdout)]);
    expect(existsSync(path.join(work, 'cache-3'))).toBe(false);
  });

  it('says how to build it when the bundle is not there yet', () => {
    const bare = path.join(work, 'unbuilt', 'bin');
    mkdirSync(bare, { recursive: true });
    copyFileSync(bin, path.join(bare, 'labgrader.cjs'));
    const r = spawnSync(process.execPath, [path.join(bare, 'labgrader.cjs'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not built yet.*\nhint: run `npm run build`/);
  });
});
