export {
  cloneRepository,
  describeLocalGit,
  splitCredentials,
  type CloneRequest,
  type CloneResult,
  type GitCredentials,
} from './git.js';
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
