import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openRepoFiles } from '@labgrader/repo';
import { tempDir } from '../../../test/support/git-fixtures.js';

let root: string;
let outside: string;

beforeEach(() => {
  root = tempDir();
  outside = tempDir();
  writeFileSync(path.join(outside, 'secret.txt'), 'top secret');
  mkdirSync(path.join(root, 'k8s'));
  mkdirSync(path.join(root, '.git'));
  writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main');
  writeFileSync(path.join(root, 'k8s', 'app.yaml'), '\ufeffkind: Pod\n');
  writeFileSync(path.join(root, 'latin1.yaml'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
  writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(2048));
  symlinkSync('k8s/app.yaml', path.join(root, 'inside-link.yaml'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape.txt'));
  symlinkSync('../../../../../../../../etc/passwd', path.join(root, 'passwd.png'));
  symlinkSync('missing.yaml', path.join(root, 'dangling.yaml'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('openRepoFiles', () => {
  it('lists files and classifies symlinks without listing .git', async () => {
    const repo = await openRepoFiles(root);
    const entries = await repo.list();
    expect(entries.map((e) => [e.path, e.kind])).toEqual([
      ['big.bin', 'file'],
      ['dangling.yaml', 'symlink-broken'],
      ['escape.txt', 'symlink-outside'],
      ['inside-link.yaml', 'symlink'],
      ['k8s/app.yaml', 'file'],
      ['latin1.yaml', 'file'],
      ['passwd.png', 'symlink-outside'],
    ]);
  });

  it('reads text (BOM removed) and follows symlinks that stay inside', async () => {
    const repo = await openRepoFiles(root);
    expect(await repo.readText('k8s/app.yaml')).toEqual({ ok: true, value: 'kind: Pod\n', size: 13 });
    expect(await repo.readText('inside-link.yaml')).toMatchObject({ ok: true, value: 'kind: Pod\n' });
    expect(await repo.readText('./k8s/../k8s/app.yaml')).toMatchObject({ ok: true });
  });

  it('never reads through a symlink that leaves the repository', async () => {
    const repo = await openRepoFiles(root);
    const escape = await repo.readText('escape.txt');
    expect(escape).toMatchObject({ ok: false, problem: 'symlink-outside' });
    expect(JSON.stringify(escape)).not.toContain('top secret');
    expect(await repo.readBytes('passwd.png')).toMatchObject({ ok: false, problem: 'symlink-outside' });
  });

  it('refuses paths that climb out of the root', async () => {
    const repo = await openRepoFiles(root);
    expect(await repo.readText('../' + path.basename(outside) + '/secret.txt')).toMatchObject({
      ok: false,
      problem: 'not-found',
    });
    expect(await repo.stat('../etc/passwd')).toBeUndefined();
  });

  it('reports invalid UTF-8, oversize files, broken links and missing files as problems', async () => {
    const repo = await openRepoFiles(root, { maxFileBytes: 1024 });
    expect(await repo.readText('latin1.yaml')).toMatchObject({ ok: false, problem: 'not-utf8' });
    expect(await repo.readBytes('big.bin')).toMatchObject({ ok: false, problem: 'too-large', size: 2048 });
    expect(await repo.readBytes('big.bin', { maxBytes: 4096 })).toMatchObject({ ok: true, size: 2048 });
    expect(await repo.readText('dangling.yaml')).toMatchObject({ ok: false, problem: 'symlink-broken' });
    expect(await repo.readText('nope.yaml')).toMatchObject({ ok: false, problem: 'not-found' });
    expect(await repo.readText('k8s')).toMatchObject({ ok: false, problem: 'not-found' });
  });

  it('refuses to list a tree with more entries than allowed', async () => {
    const repo = await openRepoFiles(root, { maxEntries: 3 });
    await expect(repo.list()).rejects.toMatchObject({ kind: 'not-gradable', reason: 'too-large' });
  });
});
