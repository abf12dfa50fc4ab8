/**
 * Runs one stage under a time budget. The stage gets an AbortSignal that
 * fires when the budget is spent (or the job is cancelled); we stop waiting
 * at that moment, or at most `graceMs` later when the stage asked for time to
 * release what it holds (the cluster stage deletes its cluster). A stage that
 * ignores its signal cannot hold the pipeline hostage beyond that.
 */
import { AbortedError } from '@labgrader/core';

export class StageTimeoutError extends AbortedError {}

export async function withBudget<T>(
  label: string,
  budgetMs: number,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
  graceMs = 0,
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
  let graceTimer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      let work: Promise<T>;
      try {
        work = fn(controller.signal);
      } catch (err) {
        work = Promise.reject(err);
      }
      // Once aborted, whatever the stage throws while unwinding is reported as the abort itself.
      work.then(resolve, (err: unknown) => reject(controller.signal.aborted ? controller.signal.reason : err));
      onAbort = () => {
        const reason: unknown = controller.signal.reason;
        if (graceMs <= 0) reject(reason);
        else graceTimer = setTimeout(() => reject(reason), graceMs);
      };
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    parent?.removeEventListener('abort', onParentAbort);
    if (onAbort) controller.signal.removeEventListener('abort', onAbort);
  }
}
