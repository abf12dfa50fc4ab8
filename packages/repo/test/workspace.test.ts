import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError, NotGradableError, UsageError, type CommandRunner } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { prepareWorkspace, splitCredentials, type Workspace } from '@labgrader/repo';
import { git, makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';

const runner = createExecaRunner();
let remote: BareRepo;
let first: string;
let second: string;

beforeAll(() => {
  remote = makeBareRepo();
  mkdirSync(path.join(remote.workDir, 'k8s'));
  writeFileSync(path.join(remote.workDir, 'k8s', 'app.yaml'), 'kind: Pod # v1\n');
  symlinkSync('/etc/passwd', path.join(remote.workDir, 'diagram.png'));
  symlinkSync('k8s/app.yaml', path.join(remote.workDir, 'link.yaml'));
  writeFileSync(path.join(remote.workDir, '.gitattributes'), '*.bin filter=lfs diff=lfs merge=lfs -text\n');
  first = remote.commit('first');
  writeFileSync(path.join(remote.workDir, 'k8s', 'app.yaml'), 'kind: Pod # v2\n');
  second = remote.commit('second');
});

afterAll(() => remote.cleanup());

async function withWorkspace<T>(ws: Workspace, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  try {
    return await fn(ws);
  } finally {
    await ws.dispose();
  }
}

describe('prepareWorkspace from a git URL', () => {
  it('clones the default branch shallowly and records the commit', async () => {
    const ws = await prepareWorkspace({ kind: 'git', url: remote.url }, { runner });
    await withWorkspace(ws, async () => {
      expect(ws.submission).toMatchObject({ source: 'git', commit: second, repository: remote.url, author: 'Student' });
      expect(Date.parse(ws.submission.submittedAt ?? '')).not.toBeNaN();
      expect(await ws.files.readText('k8s/app.yaml')).toMatchObject({ value: 'kind: Pod # v2\n' });
      expect(existsSync(path.join(ws.root, '.git'))).toBe(false);
    });
    expect(existsSync(ws.root)).toBe(false);
  });

  it('clones an older commit by SHA', async () => {
    const ws = await prepareWorkspace({ kind: 'git', url: remote.url, ref: first }, { runner });
    await withWorkspace(ws, async () => {
      expect(ws.submission.commit).toBe(first);
      expect(await ws.files.readText('k8s/app.yaml')).toMatchObject({ value: 'kind: Pod # v1\n' });
    });
  });

  it('removes symlinks that point outside the repository and lists them as blocked', async () => {
    const ws = await prepareWorkspace({ kind: 'git', url: remote.url }, { runner });
    await withWorkspace(ws, async () => {
      expect(ws.blocked).toEqual([
        { path: 'diagram.png', kind: 'symlink-outside', size: 0, linkTarget: '/etc/passwd' },
      ]);
      expect(existsSync(path.join(ws.root, 'diagram.png'))).toBe(false);
      expect(lstatSync(path.join(ws.root, 'link.yaml')).isSymbolicLink()).toBe(true);
      const listed = await ws.files.list();
      expect(listed.find((e) => e.path === 'diagram.png')?.kind).toBe('symlink-outside');
      expect(await ws.files.readBytes('diagram.png')).toMatchObject({ ok: false, problem: 'symlink-outside' });
    });
  });

  it('fails with a not-gradable error for a repository that does not exist', async () => {
    const err = await prepareWorkspace({ kind: 'git', url: `file://${tempDir()}/nope.git` }, { runner }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotGradableError);
    expect((err as NotGradableError).reason).toBe('fetch-failed');
    expect((err as NotGradableError).message).toMatch(/could not clone file:\/\/.*nope\.git/);
  });

  it('fails with a not-gradable error for a ref that does not exist', async () => {
    await expect(
      prepareWorkspace({ kind: 'git', url: remote.url, ref: 'no-such-branch' }, { runner }),
    ).rejects.toMatchObject({
      reason: 'fetch-failed',
    });
  });

  it('stops a clone that grows past the size limit', async () => {
    const big = makeBareRepo();
    try {
      // Incompressible content so the packed size is close to the checked-out size.
      const bytes = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
      writeFileSync(path.join(big.workDir, 'blob.bin'), bytes);
      big.commit('big');
      await expect(
        prepareWorkspace({ kind: 'git', url: big.url }, { runner, limits: { maxBytes: 1024 * 1024 } }),
      ).rejects.toMatchObject({ kind: 'not-gradable', reason: 'too-large' });
    } finally {
      big.cleanup();
    }
  });

  it('passes credentials through the environment, never argv, and redacts them from errors', async () => {
    const calls: { args: readonly string[]; env: Record<string, string | undefined> }[] = [];
    const spy: CommandRunner = {
      async run(command, args, options) {
        calls.push({ args, env: options?.env ?? {} });
        return runner.run(command, args, options);
      },
    };
    const url = `file://${tempDir()}/private.git`;
    const err = await prepareWorkspace(
      { kind: 'git', url, credentials: { token: 'ghs_abcdefghijklmnopqrstuvwxyz0123456789' } },
      { runner: spy },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotGradableError);
    expect(JSON.stringify(calls.map((c) => c.args))).not.toContain('ghs_');
    const fetch = calls.find((c) => c.args.includes('fetch'));
    expect(fetch?.env.GIT_CONFIG_KEY_0).toBe('http.extraHeader');
    expect(fetch?.env.GIT_CONFIG_VALUE_0).toMatch(/^Authorization: Basic /);
    // Only the fetch needs them.
    expect(calls.filter((c) => c.env.GIT_CONFIG_VALUE_0 !== undefined).every((c) => c.args.includes('fetch'))).toBe(
      true,
    );
    expect(String((err as Error).message)).not.toContain('ghs_');
  });

  it('classifies an unreachable host as an infrastructure (retryable) failure', async () => {
    const offline: CommandRunner = {
      async run(command, args, options) {
        if (args.includes('fetch')) {
          return {
            exitCode: 128,
            stdout: '',
            stderr: "fatal: unable to access 'https://github.com/x/y/': Could not resolve host: github.com\n",
            timedOut: false,
            durationMs: 1,
          };
        }
        return runner.run(command, args, options);
      },
    };
    const err = await prepareWorkspace({ kind: 'git', url: 'https://github.com/x/y' }, { runner: offline }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as InfrastructureError).retryable).toBe(true);
  });
});

describe('prepareWorkspace from a directory', () => {
  it('copies the tree without .git, keeps inside links, blocks outside links and records git metadata', async () => {
    const ws = await prepareWorkspace({ kind: 'directory', path: remote.workDir }, { runner });
    await withWorkspace(ws, async () => {
      expect(ws.submission).toMatchObject({
        source: 'directory',
        commit: second,
        ref: 'main',
        dirty: false,
        author: 'Student',
      });
      expect(ws.blocked.map((b) => b.path)).toEqual(['diagram.png']);
      expect(existsSync(path.join(ws.root, '.git'))).toBe(false);
      expect(readFileSync(path.join(ws.root, 'link.yaml'), 'utf8')).toBe('kind: Pod # v2\n');
    });
  });

  it('notices uncommitted changes', async () => {
    writeFileSync(path.join(remote.workDir, 'k8s', 'app.yaml'), 'kind: Pod # edited\n');
    try {
      const ws = await prepareWorkspace({ kind: 'directory', path: remote.workDir }, { runner });
      await withWorkspace(ws, async () => expect(ws.submission.dirty).toBe(true));
    } finally {
      git(remote.workDir, 'checkout', '--', '.');
    }
  });

  it('grades a plain directory without git and a single file', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pod.yaml'), 'kind: Pod\n');
    const ws = await prepareWorkspace({ kind: 'directory', path: dir }, { runner });
    await withWorkspace(ws, async () => expect(ws.submission.commit).toBeUndefined());
    const single = await prepareWorkspace({ kind: 'directory', path: path.join(dir, 'pod.yaml') }, { runner });
    await withWorkspace(single, async () =>
      expect((await single.files.list()).map((e) => e.path)).toEqual(['pod.yaml']),
    );
  });

  it('rejects a path that does not exist with a usage error', async () => {
    await expect(prepareWorkspace({ kind: 'directory', path: '/no/such/lab' }, { runner })).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  it('refuses a tree over the file-count limit and cleans up', async () => {
    const dir = tempDir();
    for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `f${i}.yaml`), 'x');
    await expect(
      prepareWorkspace({ kind: 'directory', path: dir }, { runner, limits: { maxFiles: 3 } }),
    ).rejects.toMatchObject({
      reason: 'too-large',
    });
  });
});

describe('splitCredentials', () => {
  it('moves user:password out of https URLs and leaves scp-style URLs alone', () => {
    expect(splitCredentials('https://bob:s3cret@example.com/o/r.git')).toEqual({
      url: 'https://example.com/o/r.git',
      basic: { username: 'bob', password: 's3cret' },
    });
    expect(splitCredentials('git@github.com:o/r.git')).toEqual({ url: 'git@github.com:o/r.git' });
  });
});
