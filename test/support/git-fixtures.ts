/**
 * Real git repositories on disk for tests: a work tree is committed and
 * pushed to a bare repository that tests clone with file:// URLs.
 */
import { afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

export interface BareRepo {
  /** file:// URL of the bare repository. */
  url: string;
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

/** Creates a bare repo whose first commit holds `sourceDir` (copied, symlinks preserved). */
export function makeBareRepo(sourceDir?: string): BareRepo {
  const base = tempDir();
  const workDir = path.join(base, 'work');
  const bareDir = path.join(base, 'remote.git');
  mkdirSync(workDir);
  if (sourceDir) cpSync(sourceDir, workDir, { recursive: true, verbatimSymlinks: true });
  git(base, 'init', '-q', '--bare', bareDir);
  git(workDir, 'init', '-q');
  git(workDir, 'remote', 'add', 'origin', bareDir);
  const repo: BareRepo = {
    url: `file://${bareDir}`,
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
    },
  };
  return repo;
}
