export { createApp, createRequestListener, type ApiDeps } from './app.js';
export { queuedCheckRuns, reportTarget, type QueuedCheckRuns } from './checks.js';
export { loadApiConfig, type ApiConfig } from './config.js';
export { courseRouter, jobLab, loadCourse, type CourseRoute, type CourseRouter } from './course.js';
export { REGRADE_ACTION, routeGithubEvent, type RouteContext, type RoutedEvent } from './github.js';
export {
  createWebhookHandler,
  verifySignature,
  type WebhookDeps,
  type WebhookHandler,
  type WebhookRequest,
  type WebhookResponse,
} from './webhook.js';
