/**
 * Bounded Markdown parsing. remark (micromark) is superlinear on some inputs:
 * measured on this project's 2-core machine, 1,000 levels of nested lists
 * (1 MB) take ~30 s, a 20-level blockquote followed by 64 KB of lazy
 * continuation lines ~40 s, 32 KB of nested emphasis ~7 s. So:
 *  1. the caller caps the size before reading (RepoFiles `maxBytes`);
 *  2. `scanNesting` refuses absurd container nesting up front, in linear time,
 *     with the line where it happens (a precise, deterministic finding);
 *  3. the parse itself runs in a worker thread that is terminated when it
 *     exceeds its time budget or heap limit, or when the stage is aborted;
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

const WORKER_URL = new URL('../../worker/parse-markdown.mjs', import.meta.url);

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
  const worker = new Worker(WORKER_URL, {
    resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const reply = await new Promise<{ ok: true; tree: Root } | { ok: false; error: string } | 'timeout' | 'aborted'>(
      (resolve, reject) => {
        timer = setTimeout(() => resolve('timeout'), limits.timeoutMs);
        onAbort = () => resolve('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
        worker.once('message', resolve);
        worker.once('error', (err) => resolve({ ok: false, error: err instanceof Error ? err.message : String(err) }));
        worker.once('exit', (code) => resolve({ ok: false, error: `the parser exited with code ${code}` }));
        try {
          worker.postMessage({ text });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
    );
    if (reply === 'aborted') {
      throwIfAborted(signal);
      throw new Error('unreachable: aborted without an aborted signal');
    }
    if (reply === 'timeout') {
      return {
        ok: false,
        problem: 'timeout',
        message: `parsing did not finish within ${limits.timeoutMs} ms (pathological Markdown such as deeply nested lists, blockquotes or emphasis)`,
      };
    }
    if (!reply.ok) return { ok: false, problem: 'failed', message: `the Markdown parser failed: ${reply.error}` };
    if (treeDepth(reply.tree, limits.maxTreeDepth) > limits.maxTreeDepth) {
      return {
        ok: false,
        problem: 'too-deep',
        message: `the document's structure is nested more than ${limits.maxTreeDepth} levels deep`,
      };
    }
    return { ok: true, tree: reply.tree };
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}
