/**
 * Bounded Markdown parsing. remark (micromark) is superlinear on some inputs:
 * measured on this project's 2-core machine, 1,000 levels of nested lists
 * (1 MB) take ~30 s, a 20-level blockquote followed by 64 KB of lazy
 * continuation lines ~40 s, 32 KB of nested emphasis ~7 s. So:
 *  1. the caller caps the size before reading (RepoFiles `maxBytes`);
 *  2. `scanNesting` refuses absurd container nesting up front, in linear time,
 *     with the line where it happens (a precise, deterministic finding);
 *  3. the parse itself runs in a worker thread that is terminated when it
 *     exceeds its time budget or heap limit, or when the stage is aborted
 *     (`inWorker`, also used for Mermaid diagrams and raster images);
 *  4. the resulting tree's depth is checked before any recursive traversal.
 */
import { Worker } from 'node:worker_threads';
import type { Root } from 'mdast';
import { throwIfAborted } from '@labgrader/core';

export interface ParseLimits {
  /** Wall-clock budget of one parse. */
  timeoutMs: number;
  /** Refuse documents whose lists/blockquotes nest deeper than this (estimated per line). */
  maxNestingDepth: number;
  /** Refuse syntax trees deeper than this (guards recursive traversals). */
  maxTreeDepth: number;
  /** Heap limit of the parsing worker. */
  maxHeapMb: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  timeoutMs: 8_000,
  maxNestingDepth: 32,
  maxTreeDepth: 200,
  maxHeapMb: 256,
};

export type ParseOutcome =
  { ok: true; tree: Root } | { ok: false; problem: 'too-deep' | 'timeout' | 'failed'; message: string; line?: number };

const WORKER_URL = new URL('../../worker/parse.mjs', import.meta.url);

const LIST_MARKER = /^(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)/;
const FENCE = /^(`{3,}|~{3,})/;

/**
 * Estimates the container nesting of each line (blockquote markers, list
 * markers, and indentation counted as one level per two columns) outside
 * fenced code, and returns the first line deeper than `limit`.
 */
export function scanNesting(text: string, limit: number): { line: number; depth: number } | undefined {
  let fence: { char: string; length: number } | undefined;
  let lineNumber = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNumber++;
    let i = start;
    let depth = 0;
    let columns = 0;
    for (;;) {
      while (i < end && (text[i] === ' ' || text[i] === '\t')) {
        columns += text[i] === '\t' ? 4 : 1;
        i++;
      }
      if (i >= end) break;
      if (text[i] === '>') {
        depth++;
        i++;
        continue;
      }
      const marker = LIST_MARKER.exec(text.slice(i, Math.min(end, i + 11)));
      if (marker) {
        depth++;
        i += marker[0].length;
        continue;
      }
      break;
    }
    const rest = text.slice(i, Math.min(end, i + 64));
    if (fence) {
      const close = FENCE.exec(rest);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) fence = undefined;
    } else {
      const open = FENCE.exec(rest);
      if (open) fence = { char: open[1]![0]!, length: open[1]!.length };
      const total = depth + Math.floor(columns / 2);
      if (total > limit) return { line: lineNumber, depth: total };
    }
    start = end + 1;
  }
  return undefined;
}

/** Depth of a tree, iteratively (no recursion on untrusted depth); stops counting past `limit`. */
export function treeDepth(tree: Root, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[tree, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (max > limit) return max;
    const children = (node as { children?: unknown[] }).children;
    if (Array.isArray(children)) for (const child of children) stack.push([child, depth + 1]);
  }
  return max;
}

export async function parseMarkdown(
  text: string,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  signal?: AbortSignal,
): Promise<ParseOutcome> {
  throwIfAborted(signal);
  const deep = scanNesting(text, limits.maxNestingDepth);
  if (deep) {
    return {
      ok: false,
      problem: 'too-deep',
      line: deep.line,
      message: `lists or blockquotes are nested about ${deep.depth} levels deep at line ${deep.line} (the limit is ${limits.maxNestingDepth})`,
    };
  }
  const reply = await inWorker<Root>({ type: 'markdown', text }, limits, signal);
  if (reply === 'timeout') {
    return {
      ok: false,
      problem: 'timeout',
      message: `parsing did not finish within ${limits.timeoutMs} ms (pathological Markdown such as deeply nested lists, blockquotes or emphasis)`,
    };
  }
  if (!reply.ok) return { ok: false, problem: 'failed', message: `the Markdown parser failed: ${reply.error}` };
  if (treeDepth(reply.value, limits.maxTreeDepth) > limits.maxTreeDepth) {
    return {
      ok: false,
      problem: 'too-deep',
      message: `the document's structure is nested more than ${limits.maxTreeDepth} levels deep`,
    };
  }
  return { ok: true, tree: reply.value };
}

export type WorkerReply<T> = { ok: true; value: T } | { ok: false; error: string } | 'timeout';

/**
 * Sends one request to a parsing worker and waits for its answer within
 * `timeoutMs`. A worker that answered is kept for the next request; one that
 * timed out, crashed or was aborted is terminated. Aborting throws.
 */
export async function inWorker<T>(
  request: Record<string, unknown>,
  limits: Pick<ParseLimits, 'timeoutMs' | 'maxHeapMb'>,
  signal?: AbortSignal,
): Promise<WorkerReply<T>> {
  throwIfAborted(signal);
  const worker = acquireWorker(limits.maxHeapMb);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let reusable = false;
  let onMessage: ((message: { ok: true; value: T } | { ok: false; error: string }) => void) | undefined;
  let onError: ((err: unknown) => void) | undefined;
  let onExit: ((code: number) => void) | undefined;
  try {
    const reply = await new Promise<{ ok: true; value: T } | { ok: false; error: string } | 'timeout' | 'aborted'>(
      (resolve, reject) => {
        timer = setTimeout(() => resolve('timeout'), limits.timeoutMs);
        onAbort = () => resolve('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
        onMessage = (message) => {
          reusable = true;
          resolve(message);
        };
        onError = (err) => resolve({ ok: false, error: err instanceof Error ? err.message : String(err) });
        onExit = (code) => resolve({ ok: false, error: `the parser exited with code ${code}` });
        worker.once('message', onMessage);
        worker.once('error', onError);
        worker.once('exit', onExit);
        try {
          worker.postMessage(request);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
    );
    if (reply === 'aborted') {
      throwIfAborted(signal);
      throw new Error('unreachable: aborted without an aborted signal');
    }
    return reply;
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (onMessage) worker.off('message', onMessage);
    if (onError) worker.off('error', onError);
    if (onExit) worker.off('exit', onExit);
    // A worker that answered is idle and healthy: keep it for the next request.
    // One that timed out, failed or was aborted may still be busy: stop it.
    if (reusable) releaseWorker(worker, limits.maxHeapMb);
    else await worker.terminate();
  }
}

/**
 * One idle parser is kept between parses (unreferenced, so it never keeps
 * the process alive): starting a worker and loading remark costs ~100 ms,
 * more than parsing a typical notes file.
 */
let idle: { worker: Worker; heapMb: number } | undefined;

function acquireWorker(heapMb: number): Worker {
  if (idle && idle.heapMb === heapMb) {
    const { worker } = idle;
    idle = undefined;
    worker.ref();
    return worker;
  }
  const worker = new Worker(WORKER_URL, {
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
  });
  worker.once('exit', () => {
    if (idle?.worker === worker) idle = undefined;
  });
  // An idle worker has no parse listening for its errors: never let one crash the process.
  worker.on('error', () => {});
  return worker;
}

function releaseWorker(worker: Worker, heapMb: number): void {
  if (idle) {
    void worker.terminate();
    return;
  }
  worker.unref();
  idle = { worker, heapMb };
}
