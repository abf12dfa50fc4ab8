export {
  cloneRepository,
  splitCredentials,
  type CloneDeps,
  type CloneRequest,
  type CloneResult,
  type GitCredentials,
} from './git.js';
export { VALID_REF_HINT, assertCloneRef, assertCloneUrl, refNameProblem } from './git-input.js';
export { describeLocalGit, type LocalGitInfo } from './local-git.js';
export {
  ALLOWED_PROTOCOLS,
  HARDENING_CONFIG,
  safeGitInvocation,
  withSafeGit,
  type GitInvocation,
  type GitRepository,
  type SafeGit,
  type SafeGitOptions,
} from './safe-git.js';
export {
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_FILE_BYTES,
  formatBytes,
  openRepoFiles,
  type RepoFilesOptions,
} from './repo-files.js';
export {
  DEFAULT_LIMITS,
  prepareWorkspace,
  type SubmissionSource,
  type Workspace,
  type WorkspaceDeps,
  type WorkspaceLimits,
} from './workspace.js';
