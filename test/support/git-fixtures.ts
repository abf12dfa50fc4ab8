/**
 * Real git repositories on disk for tests: a work tree is committed and
 * pushed to a bare repository that tests clone with file:// URLs; and a
 * student folder whose `.git` tries to run programs.
 */
import { afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Student',
  GIT_AUTHOR_EMAIL: 'student@example.com',
  GIT_COMMITTER_NAME: 'Student',
  GIT_COMMITTER_EMAIL: 'student@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
  }).trim();
}

/** Like git(), with the exit code and stderr instead of a throw (to show what plain git does). */
export function tryGit(cwd: string, ...args: string[]): { ok: boolean; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('git', args, {
      cwd,
      env: GIT_ENV,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, stdout, stderr: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
  }
}

export interface BareRepo {
  /** file:// URL of the bare repository. */
  url: string;
  /** `owner/name`, when the repository was laid out as `<under>/<owner>/<name>.git`. */
  fullName?: string;
  bareDir: string;
  workDir: string;
  /** Commits the work tree; returns the new SHA. */
  commit(message: string): string;
  cleanup(): void;
}

const created: string[] = [];

// Every temporary directory a test file makes is removed when that file's tests are done.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'labgrader-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export interface BareRepoLayout {
  /** Lay the bare repository out as `<under>/<owner>/<name>.git`, as a git host does (for clone-URL allow-lists). */
  under: string;
  fullName: string;
}

/** Creates a bare repo whose first commit holds `sourceDir` (copied, symlinks preserved). */
export function makeBareRepo(sourceDir?: string, layout?: BareRepoLayout): BareRepo {
  const base = tempDir();
  const workDir = path.join(base, 'work');
  const bareDir = layout ? path.join(layout.under, `${layout.fullName}.git`) : path.join(base, 'remote.git');
  mkdirSync(workDir);
  mkdirSync(path.dirname(bareDir), { recursive: true });
  if (sourceDir) cpSync(sourceDir, workDir, { recursive: true, verbatimSymlinks: true });
  git(base, 'init', '-q', '--bare', bareDir);
  git(workDir, 'init', '-q');
  git(workDir, 'remote', 'add', 'origin', bareDir);
  const repo: BareRepo = {
    url: `file://${bareDir}`,
    ...(layout ? { fullName: layout.fullName } : {}),
    bareDir,
    workDir,
    commit(message: string) {
      git(workDir, 'add', '-A');
      git(workDir, 'commit', '-q', '--allow-empty', '-m', message);
      git(workDir, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
      return git(workDir, 'rev-parse', 'HEAD');
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
      if (layout) rmSync(bareDir, { recursive: true, force: true });
    },
  };
  return repo;
}

/**
 * Every config key that makes git run a program, each pointing at a trap
 * script that records its name in `markers/`. Keys git treats as shell
 * commands and keys it runs as a path both work: the traps take no arguments.
 */
const TRAPPED_KEYS: ReadonlyArray<[key: string, trap: string]> = [
  ['core.fsmonitor', 'fsmonitor'],
  ['core.pager', 'core-pager'],
  ['pager.status', 'pager-status'],
  ['pager.log', 'pager-log'],
  ['diff.external', 'diff-external'],
  ['diff.evil.textconv', 'diff-textconv'],
  ['diff.evil.command', 'diff-command'],
  ['filter.evil.clean', 'filter-clean'],
  ['filter.evil.smudge', 'filter-smudge'],
  ['filter.evil.process', 'filter-process'],
  ['gpg.program', 'gpg'],
  ['gpg.ssh.program', 'gpg-ssh'],
  ['gpg.x509.program', 'gpg-x509'],
  ['core.sshCommand', 'ssh-command'],
  ['core.askPass', 'askpass'],
  ['core.gitProxy', 'git-proxy'],
  ['core.alternateRefsCommand', 'alternate-refs'],
  ['uploadpack.packObjectsHook', 'pack-objects-hook'],
  ['core.editor', 'editor'],
  ['sequence.editor', 'sequence-editor'],
  ['remote.origin.uploadpack', 'remote-uploadpack'],
  ['remote.origin.receivepack', 'remote-receivepack'],
];
const HOOKS = [
  'pre-commit',
  'post-checkout',
  'post-commit',
  'post-merge',
  'post-rewrite',
  'post-index-change',
  'reference-transaction',
  'pre-auto-gc',
  'fsmonitor-watchman',
];

export interface BoobyTrappedFolder {
  /** The student's folder (a work tree with its own `.git`). */
  dir: string;
  /** HEAD: a commit carrying a (fake) signature, so log.showSignature makes `git log` run gpg.program. */
  commit: string;
  branch: string;
  author: string;
  committedAt: string;
  /** A linked worktree of the same repository (its `.git` is a file), on branch `feature`. */
  worktree: string;
  /** Another trap script (for a test's own config or environment); returns its path. */
  newTrap(name: string): string;
  /** Names of the traps that ran, so far. */
  sprung(): string[];
  reset(): void;
}

/**
 * A student folder whose `.git/config` (and an included file, and an
 * includeIf'd file) sets every program-running key above, with hooks in
 * core.hooksPath and in .git/hooks, a clean/smudge filter applied to every
 * file by .gitattributes, and tracked files whose timestamps make git re-read
 * them (so `status` would run the clean filter).
 */
export function makeBoobyTrappedFolder(): BoobyTrappedFolder {
  const base = tempDir('labgrader-trap-');
  const dir = path.join(base, 'lab');
  const traps = path.join(base, 'traps');
  const hooks = path.join(traps, 'hooks');
  const markers = path.join(base, 'markers');
  for (const d of [dir, hooks, markers]) mkdirSync(d, { recursive: true });

  const trap = (where: string, name: string) => {
    const file = path.join(where, name);
    // Filters must pass content through; everything else just records that it ran.
    writeFileSync(file, `#!/bin/sh\ntouch '${markers}/${name}'\ncat 2>/dev/null\nexit 0\n`);
    chmodSync(file, 0o755);
    return file;
  };

  mkdirSync(path.join(dir, 'k8s'));
  writeFileSync(path.join(dir, 'k8s', 'app.yaml'), 'kind: Pod\n');
  writeFileSync(path.join(dir, 'README.md'), '# lab\n');
  writeFileSync(path.join(dir, '.gitattributes'), '* filter=evil diff=evil\n');
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'lab');
  // Re-make HEAD as a signed-looking commit: `git log` with log.showSignature hands it to gpg.program.
  const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
  const parent = git(dir, 'rev-parse', 'HEAD');
  const when = 1767225600; // 2026-01-01T00:00:00Z
  const signed = [
    `tree ${tree}`,
    `parent ${parent}`,
    `author Student <student@example.com> ${when} +0000`,
    `committer Student <student@example.com> ${when} +0000`,
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' iQEzBAABCAAdFiEEnotarealsignature',
    ' -----END PGP SIGNATURE-----',
    '',
    'signed lab',
    '',
  ].join('\n');
  const objectFile = path.join(base, 'commit.txt');
  writeFileSync(objectFile, signed);
  const commit = git(dir, 'hash-object', '-t', 'commit', '-w', objectFile);
  git(dir, 'update-ref', 'refs/heads/main', commit);
  const worktree = path.join(base, 'feature-worktree');
  git(dir, 'worktree', 'add', '-q', '-b', 'feature', worktree);

  // The traps go in last, so setting the fixture up did not spring them.
  for (const hook of HOOKS) {
    trap(hooks, `hook-${hook}`);
    const local = path.join(dir, '.git', 'hooks', hook);
    writeFileSync(local, `#!/bin/sh\ntouch '${markers}/dot-git-hook-${hook}'\n`);
    chmodSync(local, 0o755);
  }
  const setTraps = (configFile: string, prefix: string) => {
    for (const [key, name] of TRAPPED_KEYS)
      git(base, 'config', '--file', configFile, key, trap(traps, `${prefix}${name}`));
  };
  const included = path.join(base, 'included.gitconfig');
  const conditional = path.join(base, 'conditional.gitconfig');
  setTraps(path.join(dir, '.git', 'config'), '');
  setTraps(included, 'included-');
  setTraps(conditional, 'included-if-');
  git(dir, 'config', 'core.hooksPath', hooks);
  git(dir, 'config', 'credential.helper', `!${trap(traps, 'credential-helper')}`);
  git(dir, 'config', 'log.showSignature', 'true');
  git(dir, 'config', 'filter.evil.required', 'true');
  git(dir, 'config', 'core.untrackedCache', 'true');
  git(dir, 'config', 'include.path', included);
  git(dir, 'config', 'includeIf.gitdir:/.path', conditional);
  // Timestamps unlike the index's: git must re-read (and so clean-filter) every tracked file.
  const later = new Date(Date.now() + 3600_000);
  for (const file of ['k8s/app.yaml', 'README.md', '.gitattributes']) utimesSync(path.join(dir, file), later, later);

  return {
    dir,
    commit,
    branch: 'main',
    author: 'Student',
    committedAt: new Date(when * 1000).toISOString(),
    worktree,
    newTrap: (name) => trap(traps, name),
    sprung: () => readdirSync(markers).sort(),
    reset: () => {
      for (const name of readdirSync(markers)) rmSync(path.join(markers, name));
    },
  };
}
