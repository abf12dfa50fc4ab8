/**
 * Runs one stage under a time budget. The stage gets an AbortSignal that
 * fires when the budget is spent (or the job is cancelled); we also stop
 * waiting at that moment, so a stage that ignores its signal cannot hold the
 * pipeline hostage.
 */
import { AbortedError } from '@labgrader/core';

export class StageTimeoutError extends AbortedError {}

export async function withBudget<T>(
  label: string,
  budgetMs: number,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timeout = new StageTimeoutError(
    `${label} exceeded its ${budgetMs >= 10_000 ? Math.round(budgetMs / 1000) : budgetMs / 1000} s time budget`,
  );
  const timer = setTimeout(() => controller.abort(timeout), budgetMs);
  const onParentAbort = () => controller.abort(parent?.reason ?? new AbortedError(`${label} was cancelled`));
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(controller.signal.reason);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(controller.signal), aborted]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
    if (onAbort) controller.signal.removeEventListener('abort', onAbort);
    aborted.catch(() => {});
  }
}
