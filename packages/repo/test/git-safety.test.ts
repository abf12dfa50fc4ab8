/**
 * Students control the `.git` of folders we grade and the refs we are asked
 * to clone. These tests use real repositories whose configuration points
 * every program-running git key at a trap script, and real hostile refs, and
 * check that nothing the student wrote ever runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NotGradableError, UsageError, type CommandRunner, type Report } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import {
  HARDENING_CONFIG,
  assertCloneRef,
  describeLocalGit,
  prepareWorkspace,
  safeGitInvocation,
  type Workspace,
} from '@labgrader/repo';
import {
  makeBareRepo,
  makeBoobyTrappedFolder,
  tempDir,
  tryGit,
  type BareRepo,
} from '../../../test/support/git-fixtures.js';
import { runCli } from '../../../test/support/cli.js';

const runner = createExecaRunner();

interface Call {
  args: readonly string[];
  env: Record<string, string | undefined>;
  cwd: string | undefined;
}

function recording(): CommandRunner & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    run(command, args, options = {}) {
      if (command === 'git') calls.push({ args, env: { ...options.env }, cwd: options.cwd });
      return runner.run(command, args, options);
    },
  };
}

/** The git subcommand: the first argument that is not a global option. */
function subcommand(args: readonly string[]): string | undefined {
  return args.find((arg, i) => !arg.startsWith('-') && args[i - 1] !== '-c');
}

async function disposeAfter<T>(ws: Workspace, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await ws.dispose();
  }
}

describe('a student folder whose .git runs programs', () => {
  it('is really booby-trapped: plain git status and log run the student’s programs', () => {
    const folder = makeBoobyTrappedFolder();
    tryGit(folder.dir, 'status', '--porcelain');
    tryGit(folder.dir, 'log', '-1', '--format=%an');
    const sprung = folder.sprung();
    // The includeIf'd file is read last, so its traps win; filter.<driver>.process wins over clean.
    for (const trap of ['fsmonitor', 'filter-process', 'gpg']) {
      expect(sprung.filter((name) => name.endsWith(trap))).not.toEqual([]);
    }
  });

  it('is graded with its commit, branch and author, and none of them runs', async () => {
    const folder = makeBoobyTrappedFolder();
    const ws = await prepareWorkspace({ kind: 'directory', path: folder.dir }, { runner });
    await disposeAfter(ws, () => {
      expect(ws.submission).toEqual({
        source: 'directory',
        repository: 'lab',
        commit: folder.commit,
        ref: 'main',
        dirty: false,
        author: 'Student',
        submittedAt: folder.committedAt,
      });
    });
    expect(folder.sprung()).toEqual([]);
  });

  it('notices uncommitted and untracked changes without running its filters', async () => {
    const folder = makeBoobyTrappedFolder();
    writeFileSync(path.join(folder.dir, 'k8s', 'app.yaml'), 'kind: Deployment\n');
    const edited = await describeLocalGit(folder.dir, runner);
    expect(edited).toMatchObject({ commit: folder.commit, dirty: true });
    writeFileSync(path.join(folder.dir, 'k8s', 'app.yaml'), 'kind: Pod\n'); // as committed
    expect(await describeLocalGit(folder.dir, runner)).toMatchObject({ dirty: false });

    writeFileSync(path.join(folder.dir, 'k8s', 'new.yaml'), 'kind: Service\n');
    expect(await describeLocalGit(folder.dir, runner)).toMatchObject({ dirty: true });
    expect(await describeLocalGit(path.join(folder.dir, 'README.md'), runner)).toMatchObject({
      commit: folder.commit,
      dirty: false,
    });
    expect(folder.sprung()).toEqual([]);
  });

  it('reads a linked worktree (its .git is a file) without running anything', async () => {
    const folder = makeBoobyTrappedFolder();
    expect(await describeLocalGit(folder.worktree, runner)).toEqual({
      commit: folder.commit,
      branch: 'feature',
      dirty: false,
      author: 'Student',
      committedAt: folder.committedAt,
    });
    expect(folder.sprung()).toEqual([]);
  });

  it('the CLI grades it and reports the commit, and none of them runs', async () => {
    const folder = makeBoobyTrappedFolder();
    const r = await runCli(['grade', folder.dir, '--cluster', 'none', '--format', 'json', '--no-progress']);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.submission).toMatchObject({ source: 'directory', commit: folder.commit, ref: 'main' });
    expect(folder.sprung()).toEqual([]);
  });

  it('ignores GIT_* variables labgrader itself was started with', async () => {
    const folder = makeBoobyTrappedFolder();
    const saved = { ...process.env };
    try {
      process.env.GIT_CONFIG_PARAMETERS = `'core.fsmonitor'='${folder.newTrap('inherited-fsmonitor')}'`;
      process.env.GIT_DIR = path.join(tempDir(), 'not-a-repo');
      process.env.GIT_EXTERNAL_DIFF = folder.newTrap('inherited-external-diff');
      expect(await describeLocalGit(folder.dir, runner)).toMatchObject({ commit: folder.commit, dirty: false });
    } finally {
      process.env = saved;
    }
    expect(folder.sprung()).toEqual([]);
  });

  it('is not hung by a FIFO planted as its config or index', async () => {
    const folder = makeBoobyTrappedFolder();
    for (const name of ['config', 'index']) {
      rmSync(path.join(folder.dir, '.git', name));
      execFileSync('mkfifo', [path.join(folder.dir, '.git', name)]);
    }
    const started = Date.now();
    const info = await describeLocalGit(folder.dir, runner);
    expect(info.commit).toBe(folder.commit);
    expect(info.dirty).toBeUndefined(); // no index to compare with: unknown, not "clean"
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('owned by another user: plain git refuses it; labgrader reads it without trusting it', async () => {
    const folder = makeBoobyTrappedFolder();
    const copy = path.join(tempDir(), 'lab');
    cpSync(folder.dir, copy, { recursive: true, verbatimSymlinks: true });
    const chownTree = (p: string) => {
      chownSync(p, 65534, 65534);
      if (statSync(p).isDirectory()) for (const entry of readdirSync(p)) chownTree(path.join(p, entry));
    };
    chownTree(copy);
    expect(tryGit(copy, 'status').stderr).toMatch(/dubious ownership/);
    expect(await describeLocalGit(copy, runner)).toMatchObject({ commit: folder.commit, branch: 'main' });
    expect(folder.sprung()).toEqual([]);
  });

  it('a folder outside any git repository, or with an unborn branch, has no commit metadata', async () => {
    const plain = tempDir();
    writeFileSync(path.join(plain, 'pod.yaml'), 'kind: Pod\n');
    expect(await describeLocalGit(plain, runner)).toEqual({});
    execFileSync('git', ['init', '-q', plain], { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(await describeLocalGit(plain, runner)).toEqual({});
  });
});

describe('cloning refuses refs and URLs git would read as options', () => {
  let remote: BareRepo;
  let marker: string;

  beforeAll(() => {
    remote = makeBareRepo();
    writeFileSync(path.join(remote.workDir, 'pod.yaml'), 'kind: Pod\n');
    remote.commit('lab');
    marker = path.join(tempDir(), 'pwned');
  });
  afterAll(() => remote.cleanup());

  const optionRefs = () => [
    `--upload-pack=touch ${marker};git-upload-pack`,
    `-c core.sshCommand=touch ${marker}`,
    `--output=${marker}`,
    `--config=core.fsmonitor=touch ${marker}`,
    '-',
  ];

  it('refuses a ref starting with "-" before git runs, saying what a ref is', async () => {
    for (const ref of optionRefs()) {
      const spy = recording();
      const err = await prepareWorkspace({ kind: 'git', url: remote.url, ref }, { runner: spy }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toMatch(/is not a branch, tag or commit SHA: it starts with '-'/);
      expect((err as UsageError).hint).toMatch(/^A ref is a branch or tag name/);
      expect(spy.calls).toEqual([]);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('through the CLI: labgrader grade <url> --ref --upload-pack=… exits with a usage error and runs nothing', async () => {
    for (const ref of optionRefs()) {
      const r = await runCli(['grade', remote.url, '--ref', ref, '--cluster', 'none', '--no-progress']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^labgrader: the ref ".*" is not a branch, tag or commit SHA: it starts with '-'/);
      expect(r.stderr).toMatch(/\nhint: A ref is a branch or tag name/);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('accepts branch, tag and SHA refs by git’s rules and refuses the rest', () => {
    for (const ref of ['main', 'v1.2', 'feature/probes', 'refs/heads/main', 'refs/pull/12/head', 'a'.repeat(40)]) {
      expect(() => assertCloneRef(ref)).not.toThrow();
    }
    expect(() => assertCloneRef('f'.repeat(64))).not.toThrow();
    const refused: Array<[string, RegExp]> = [
      ['', /it is empty/],
      ['main..evil', /contains '\.\.'/],
      ['a b', /space/],
      ['refs/heads/x:refs/heads/y', /one of ~ \^ :/],
      ['^main', /one of ~ \^ :/],
      ['topic.lock', /ends with '\.lock'/],
      ['.hidden', /starts with '\.'/],
      ['refs/heads/.x', /starts with '\.'/],
      ['@{-1}', /'@\{'/],
      ['trailing/', /empty '\/'-separated part/],
      ['a\\b', /one of/],
      ['x\nmain', /control character/],
    ];
    for (const [ref, why] of refused) expect(() => assertCloneRef(ref)).toThrow(why);
  });

  it('clones a branch given by name', async () => {
    const ws = await prepareWorkspace({ kind: 'git', url: remote.url, ref: 'main' }, { runner });
    await disposeAfter(ws, async () =>
      expect(await ws.files.readText('pod.yaml')).toMatchObject({ value: 'kind: Pod\n' }),
    );
  });

  it('refuses a URL starting with "-" before git runs', async () => {
    const spy = recording();
    const err = await prepareWorkspace(
      { kind: 'git', url: `--upload-pack=touch ${marker};git-upload-pack` },
      { runner: spy },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/the repository URL ".*" starts with '-'/);
    expect(spy.calls).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('git refuses the ext:: transport (it runs a command)', async () => {
    const err = await prepareWorkspace({ kind: 'git', url: `ext::sh -c touch% ${marker}` }, { runner }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotGradableError);
    expect((err as NotGradableError).message).toMatch(/transport 'ext' not allowed/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('every git command runs hardened', () => {
  it('cloning and reading a folder: no inherited config, a private HOME, refs after --end-of-options', async () => {
    const remote = makeBareRepo();
    try {
      writeFileSync(path.join(remote.workDir, 'pod.yaml'), 'kind: Pod\n');
      const sha = remote.commit('lab');
      const spy = recording();
      const cloned = await prepareWorkspace(
        { kind: 'git', url: remote.url, ref: sha, credentials: { token: 'ghs_' + 'x'.repeat(36) } },
        { runner: spy },
      );
      await cloned.dispose();
      const local = await prepareWorkspace({ kind: 'directory', path: remote.workDir }, { runner: spy });
      await local.dispose();

      expect(spy.calls.length).toBeGreaterThan(8);
      for (const call of spy.calls) {
        expect(call.args.slice(0, 1 + HARDENING_CONFIG.length * 2)).toEqual([
          '--no-pager',
          ...HARDENING_CONFIG.flatMap((kv) => ['-c', kv]),
        ]);
        expect(call.env).toMatchObject({
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_TERMINAL_PROMPT: '0',
          GIT_ALLOW_PROTOCOL: 'https:http:ssh:git:file',
        });
        expect(call.env.HOME).not.toBe(os.homedir());
        expect(existsSync(call.env.HOME!)).toBe(false); // private, and removed afterwards
        // Either git is told its repository, or it may only look in the empty HOME.
        if (call.env.GIT_DIR === undefined) {
          expect(['init', 'config']).toContain(subcommand(call.args));
          expect(call.cwd).toBe(call.env.HOME);
        }
        // The token travels in the environment of fetches only.
        expect(JSON.stringify(call.args)).not.toContain('ghs_');
        if (call.env.GIT_CONFIG_KEY_0 !== undefined) expect(call.args).toContain('fetch');
      }
      const fetch = spy.calls.find((c) => c.args.includes('fetch'))!;
      expect(fetch.args.slice(-3)).toEqual(['--end-of-options', 'origin', sha]);
      expect(fetch.env.GIT_CONFIG_KEY_0).toBe('http.extraHeader');
      const remoteAdd = spy.calls.find((c) => c.args.includes('remote'))!;
      expect(remoteAdd.args.slice(-4)).toEqual(['add', '--end-of-options', 'origin', remote.url]);
      // Reading the folder never pointed git at the student's git directory.
      for (const call of spy.calls.filter((c) => c.env.GIT_OBJECT_DIRECTORY !== undefined)) {
        expect(call.env.GIT_DIR).not.toBe(path.join(remote.workDir, '.git'));
        expect(call.env.GIT_OBJECT_DIRECTORY).toBe(path.join(remote.workDir, '.git', 'objects'));
      }
    } finally {
      remote.cleanup();
    }
  });

  it('drops the GIT_* variables it inherits (but a custom CA bundle), and passes secrets through the environment', () => {
    const call = safeGitInvocation(
      ['status'],
      {
        repository: { gitDir: '/private/git', workTree: '/lab', objectDirectory: '/lab/.git/objects' },
        cwd: '/lab/k8s',
        secretConfig: { 'http.extraHeader': 'Authorization: Basic c2VjcmV0' },
      },
      '/sandbox/home',
      { PATH: '/bin', GIT_DIR: '/elsewhere', GIT_CONFIG_PARAMETERS: "'core.pager'='x'", GIT_SSL_CAINFO: '/ca.pem' },
    );
    expect(call.cwd).toBe('/lab/k8s');
    expect(call.args.at(-1)).toBe('status');
    expect(call.env).toMatchObject({
      HOME: '/sandbox/home',
      GIT_CEILING_DIRECTORIES: '/sandbox',
      GIT_DIR: '/private/git',
      GIT_WORK_TREE: '/lab',
      GIT_OBJECT_DIRECTORY: '/lab/.git/objects',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: 'Authorization: Basic c2VjcmV0',
    });
    expect('GIT_CONFIG_PARAMETERS' in call.env && call.env.GIT_CONFIG_PARAMETERS === undefined).toBe(true);
    expect('GIT_SSL_CAINFO' in call.env).toBe(false); // inherited as is
    expect('PATH' in call.env).toBe(false);
    expect(JSON.stringify(call.args)).not.toContain('c2VjcmV0');
    // Without a repository git runs in the empty HOME, whatever cwd was asked for.
    expect(safeGitInvocation(['init', '/dest'], { cwd: '/somewhere' }, '/sandbox/home', {}).cwd).toBe('/sandbox/home');
  });
});
