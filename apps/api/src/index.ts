export { createApp, type ApiDeps } from './app.js';
export { loadApiConfig, type ApiConfig } from './config.js';
export { routeGithubEvent, type RouteContext, type RoutedEvent } from './github.js';
