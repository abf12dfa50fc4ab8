export { createDashboardApp, type DashboardDeps } from './app.js';
export { createAuth, type Auth, type AuthOptions, type Viewer, type Role } from './auth.js';
export { loadDashboardConfig, type DashboardConfig, type GithubOAuthConfig } from './config.js';
export { createDashboardData, type DashboardData } from './data.js';
export { createLiveFeed, type LiveFeed, type LiveEvent } from './live.js';
export { openApiDocument } from './openapi.js';
export { createRegrader, regradeRequest, type Regrader } from './regrade.js';
