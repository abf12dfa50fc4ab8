/**
 * The Markdown GitHub shows: check-run titles and summaries, and the PR
 * comment. The report itself is rendered by @labgrader/report's
 * formatMarkdown (which escapes every student string); this module only adds
 * our own lines, built from escapers too, and fits the result under GitHub's
 * size limits without breaking the Markdown.
 */
import type { Report } from '@labgrader/core';
import { formatMarkdown, markdownCode, markdownLinkDestination, markdownText } from '@labgrader/report';

/** output.summary and output.text: 65,535 characters; an issue comment's body: 65,536. Counted here in UTF-8 bytes, which is never fewer. */
export const CHECK_RUN_SUMMARY_MAX = 65_535;
export const COMMENT_BODY_MAX = 65_536;

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** `67.75`, `67.7`, `80`: at most two decimals, no trailing zeros. */
export function formatPoints(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(2).replace(/\.?0+$/, '');
}

/** "67.7 / 80". */
export function scoreTitle(report: Report): string {
  return `${formatPoints(report.score.points)} / ${formatPoints(report.score.maxPoints)}`;
}

/** `https://github.com/owner/repo/blob/<sha>`: what formatMarkdown appends `/<path>#L<line>` to. */
export function blobUrlBase(webUrl: string, fullName: string, commit: string): string {
  const [owner, name] = fullName.split('/');
  return `${webUrl.replace(/\/+$/, '')}/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/blob/${encodeURIComponent(commit)}`;
}

interface FenceState {
  open: string | undefined;
}

/** Tracks fenced code blocks (CommonMark §4.5) across lines, to close one a cut would leave open. */
function trackFence(state: FenceState, line: string): void {
  if (state.open === undefined) {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (open && !(open[1]!.startsWith('`') && line.slice(open.index + open[0].length).includes('`'))) {
      state.open = open[1]!;
    }
    return;
  }
  const close = /^ {0,3}(`+|~+)[ \t]*$/.exec(line);
  if (close && close[1]![0] === state.open[0] && close[1]!.length >= state.open.length) state.open = undefined;
}

/**
 * The first lines of `markdown` that fit in `maxBytes` together with the
 * closing of whatever they leave open (a fenced code block, `<details>`
 * blocks), so text appended after it renders as prose.
 */
export function cutMarkdown(markdown: string, maxBytes: number): string {
  const lines = markdown.split('\n');
  const kept: string[] = [];
  const fence: FenceState = { open: undefined };
  let openDetails = 0;
  let bytes = 0;
  const closing = () =>
    `${fence.open !== undefined ? `\n${fence.open}` : ''}${'\n\n</details>'.repeat(Math.max(0, openDetails))}`;
  for (const line of lines) {
    const nextFence = { ...fence };
    trackFence(nextFence, line);
    let nextDetails = openDetails;
    if (nextFence.open === undefined && fence.open === undefined) {
      nextDetails += (line.match(/<details[\s>]/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
    }
    const size = utf8Length(line) + 1;
    const closingAfter = `${nextFence.open !== undefined ? `\n${nextFence.open}` : ''}${'\n\n</details>'.repeat(Math.max(0, nextDetails))}`;
    if (bytes + size + utf8Length(closingAfter) > maxBytes) break;
    kept.push(line);
    bytes += size;
    fence.open = nextFence.open;
    openDetails = nextDetails;
  }
  return `${kept.join('\n')}${closing()}`;
}

export interface FitOptions {
  maxBytes: number;
  /** Always kept, after the report (the pass mark, the marker…). */
  footer?: string;
  /** Where the untruncated report is, for the note when something had to go. */
  fullReportUrl?: string;
  /** What still lists everything when the summary cannot ("the annotations", "the check run"). */
  elsewhere?: string;
}

function truncationNote(options: FitOptions): string {
  const url = options.fullReportUrl ? markdownLinkDestination(options.fullReportUrl) : undefined;
  const where = url ? `the [full report](${url})` : (options.elsewhere ?? 'the full report');
  return `> [!NOTE]\n> This report was shortened to fit GitHub's size limit; see ${where} for everything.`;
}

/**
 * The report's Markdown under `maxBytes`: all of it when it fits; otherwise
 * as many findings as fit (formatMarkdown's `maxFindings`, found by
 * bisection), then a note linking to the full report; as a last resort the
 * Markdown is cut at a line boundary with every open block closed.
 */
export function fitReportMarkdown(render: (maxFindings: number) => string, total: number, options: FitOptions): string {
  const footer = options.footer ? `\n${options.footer}` : '';
  const whole = render(Math.max(total, 1)) + footer;
  if (utf8Length(whole) <= options.maxBytes) return whole;
  const note = `\n${truncationNote(options)}\n`;
  const budget = options.maxBytes - utf8Length(note) - utf8Length(footer);
  let low = 0;
  let high = total;
  let best: string | undefined;
  const atZero = render(0);
  if (utf8Length(atZero) <= budget) {
    best = atZero;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const text = render(mid);
      if (utf8Length(text) <= budget) {
        best = text;
        low = mid;
      } else {
        high = mid - 1;
      }
    }
  }
  const body = best ?? cutMarkdown(atZero, budget);
  return `${body}${note}${footer}`;
}

export interface ReportMarkdownOptions {
  blobUrl: string;
  maxBytes: number;
  footer?: string;
  fullReportUrl?: string;
  elsewhere?: string;
}

export function reportMarkdown(report: Report, options: ReportMarkdownOptions): string {
  return fitReportMarkdown(
    (maxFindings) => formatMarkdown(report, { blobUrl: options.blobUrl, maxFindings }),
    report.findings.length,
    {
      maxBytes: options.maxBytes,
      ...(options.footer ? { footer: options.footer } : {}),
      ...(options.fullReportUrl ? { fullReportUrl: options.fullReportUrl } : {}),
      ...(options.elsewhere ? { elsewhere: options.elsewhere } : {}),
    },
  );
}

/** "✅ Pass mark: 60% of the graded points: passed." Only our words and numbers, so no escaping is needed. */
export function passMarkLine(report: Report, passPercent: number, verdict: 'passed' | 'below' | 'not-graded'): string {
  const mark = `Pass mark: ${formatPoints(passPercent)}% of the graded points`;
  if (verdict === 'passed') return `✅ ${mark}: passed.`;
  if (verdict === 'below') return `❌ ${mark}: not reached yet (${formatPoints(report.score.percent)}%).`;
  return `⚠️ ${mark}: this commit was not graded, which is not a zero.`;
}

/** A commit as Markdown (a code span of the short SHA). */
export function shortCommit(commit: string): string {
  return markdownCode(commit.slice(0, 12));
}

/** Prose from us that may embed data (a lab title, a stage name): escaped as a whole. */
export function prose(text: string): string {
  return markdownText(text);
}
