/**
 * Runs the TypeScript sources of a service as a real process, for tests that
 * need real signals and child processes (SIGTERM mid-job, SIGKILL and the
 * janitor): `node --import ./test/support/ts-loader.mjs apps/worker/src/main.ts`.
 * Like jest's config, `@labgrader/<pkg>` resolves to packages/<pkg>/src and
 * `.js` imports to their `.ts` sources; SWC strips the types. Tests only.
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
