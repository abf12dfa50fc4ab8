/**
 * Every GitHub call of this package goes through `githubCall`: the error is
 * translated (errors.ts) and logged once, here, with the route template and
 * status; never with a URL, header, token or body.
 */
import type { Logger } from '@labgrader/core';
import { GithubAccessError, GithubUnavailableError, toGithubError } from './errors.js';

export async function githubCall<T>(logger: Logger, route: string, fn: () => Promise<T>, context = ''): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Already translated and logged further in (a token mint inside a request).
    if (err instanceof GithubAccessError || err instanceof GithubUnavailableError) throw err;
    const error = toGithubError(err, route, context);
    if (error instanceof GithubAccessError) {
      logger.error(`${error.message}; not retried`, {
        route,
        status: error.httpStatus,
        reason: error.reason,
        hint: error.hint,
      });
    } else if (error instanceof GithubUnavailableError) {
      logger.warn(error.message, {
        route,
        status: error.httpStatus,
        rateLimited: error.rateLimited,
        retryAfterSeconds: error.retryAfterSeconds,
      });
    }
    throw error;
  }
}

/** Runs tasks with the same key one after another (within this process); different keys run concurrently. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
