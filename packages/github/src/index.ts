export * from './contracts.js';
export {
  createGithubApp,
  DEFAULT_MAX_ANNOTATIONS,
  DEFAULT_TOKEN_REFRESH_MARGIN_MS,
  DEFAULT_WRITE_INTERVAL_MS,
  type GithubAppImpl,
} from './app.js';
export {
  DEFAULT_GITHUB_API_URL,
  DEFAULT_GITHUB_URL,
  describeGithubApp,
  githubCloneUrlRoot,
  loadGithubAppConfig,
  type LoadGithubAppConfigOptions,
} from './config.js';
export {
  REGRADE_ACTION,
  REGRADE_ACTION_IDENTIFIER,
  checkConclusion,
  checkRunExternalId,
  checkRunName,
  type CheckConclusion,
} from './checks.js';
export { commentMarker, parseCommentMarker, type CommentMarker } from './comments.js';
export { deliverySucceeded } from './deliveries.js';
export { GithubAccessError, GithubUnavailableError, toGithubError, type GithubAccessReason } from './errors.js';
export {
  ANNOTATIONS_PER_REQUEST,
  findingAnnotation,
  reportAnnotations,
  type AnnotationLevel,
  type CheckRunAnnotation,
} from './annotations.js';
export { CHECK_RUN_SUMMARY_MAX, COMMENT_BODY_MAX, blobUrlBase, formatPoints, scoreTitle } from './markdown.js';
export { TOKEN_PERMISSIONS, type TokenPurpose } from './tokens.js';
