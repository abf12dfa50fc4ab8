/**
 * Escapers for the Markdown report (the PR comment and check-run summary,
 * rendered by GitHub). Every student-controlled string goes through one of
 * them, picked by where it lands:
 *
 *  - markdownText: prose (messages, titles, evidence); safe anywhere inline,
 *    at the start of a line and in a table cell;
 *  - markdownCode: an identifier (file path, check id) as an inline code span;
 *    not for table cells (see below);
 *  - htmlText: text inside the raw HTML we emit (`<summary>`), where Markdown
 *    is not parsed;
 *  - markdownHint: fix hints, a restricted Markdown subset;
 *  - markdownLinkDestination: a URL we link to.
 *
 * All of them first apply toDisplayText (line breaks shown as ⏎, controls and
 * bidi/invisible characters as visible stand-ins), so the Markdown layer
 * never sees a line break in an inline field.
 */
import { toDisplayText } from '@labgrader/core';
import { httpLinkUri } from './uri.js';

/**
 * The zero-width spaces we insert, held as the raw character while escaping and
 * written out as `&#8203;` at the end. toDisplayText has already turned any
 * U+200B the student sent into `<U+200B>`, so every one left is ours.
 */
const ZWSP = '\u200B';
const ZWSP_ENTITY = '&#8203;';

/**
 * GitHub links these after rendering, in the HTML's text nodes outside code
 * and links: `@user` and `@org/team` mentions, `#12`, `owner/repo#12` and
 * `GH-12` references; the GFM autolink extension links bare `http(s)://` and
 * `www.` URLs and e-mail addresses. A Markdown escape (`\@`, `&#64;`) is
 * decoded back to a plain "@" before those filters run, so it does not help;
 * a zero-width space inside the pattern does, and is invisible. (Renovate's
 * sanitizeMarkdown uses the same `@&#8203;` and `#&#8203;1`.)
 */
function defuseAutolinks(text: string): string {
  return text
    .replace(/@/g, `@${ZWSP}`) // mentions, team mentions, e-mail autolinks (the domain must follow the @)
    .replace(/#(?=\d)/g, `#${ZWSP}`) // #12, owner/repo#12
    .replace(/(GH-)(?=\d)/gi, `$1${ZWSP}`) // GH-12
    .replace(/:(?=\/\/)/g, `${ZWSP}:`) // https://, ftp://: the scheme must touch the colon
    .replace(/(www)(?=\.)/gi, `$1${ZWSP}`); // www.example.com
}

function writeZeroWidthSpaces(text: string): string {
  return text.replaceAll(ZWSP, ZWSP_ENTITY);
}

const HTML_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** `&` first matters: a student's `&#64;` must stay text, not decode to "@" (or `&lt;` to "<"). */
function escapeHtmlSpecials(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML_ENTITY[c]!);
}

/**
 * ASCII punctuation with inline meaning: backslash (escapes), backtick (code),
 * `*` `_` (emphasis, thematic breaks), `[ ] ( ) !` (links, images, footnotes,
 * task lists), `~` (GFM strikethrough), `|` (GFM table cells), `$` (GitHub
 * math), `#` (headings). CommonMark lets any ASCII punctuation be
 * backslash-escaped (§2.4), so the rendered text is unchanged. `<`, `>`, `&`
 * are written as entities instead.
 */
const INLINE_PUNCTUATION = /[\\`*_[\]()!~|$#]/g;

/**
 * Block markers that only count at the start of a line: a setext underline (`=`, `-`) or thematic break (`-`)
 * at once; a bullet (`+`) or ordered (`1.`, `1)`) list marker only when followed by a space, a tab or the end of
 * the line (§5.2), so `1.3 s` stays as it is.
 */
const LINE_START_MARKER = /^([ \t]*)(?:([-=]|\+(?=[ \t]|$))|(\d{1,9})([.)])(?=[ \t]|$))/;

/**
 * Prose as inert Markdown text: no emphasis, link, image, HTML, heading,
 * table cell boundary, mention, issue reference or autolink survives, and the
 * rendered text is the input after toDisplayText (line breaks shown as ⏎),
 * with invisible zero-width spaces after `@`, before the digits of `#12` and
 * `GH-12`, and inside `://` and `www.`. The output is safe in any inline
 * position, directly after a `]` or `!`, and in a GFM table cell (a pipe is
 * `\|`, which the table splitter of both cmark-gfm and micromark honours). At
 * the start of a line it opens no block either, but four columns of leading
 * indentation would make an indented code block (§4.4), inert but showing the
 * escapes: a caller starting a line with it drops the indentation first.
 */
export function markdownText(text: string): string {
  const escaped = escapeHtmlSpecials(toDisplayText(text))
    .replace(INLINE_PUNCTUATION, '\\$&')
    .replace(LINE_START_MARKER, (_m, indent: string, bullet?: string, digits?: string, delimiter?: string) =>
      bullet ? `${indent}\\${bullet}` : `${indent}${digits}\\${delimiter}`,
    );
  return writeZeroWidthSpaces(defuseAutolinks(escaped));
}

/**
 * Text inside raw HTML we emit (the `<summary>` of a `<details>` block): an
 * HTML block (CommonMark §4.6) is not parsed as Markdown, so backslashes would
 * show; entities do the escaping. The line must not break (a blank line ends
 * the block), and GitHub's mention and reference filters still run there.
 */
export function htmlText(text: string): string {
  return writeZeroWidthSpaces(defuseAutolinks(escapeHtmlSpecials(toDisplayText(text))));
}

function longestRun(text: string, char: '`' | '~'): number {
  let longest = 0;
  for (const match of text.matchAll(char === '`' ? /`+/g : /~+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}

/**
 * An inline code span showing exactly toDisplayText(text) (CommonMark §6.1):
 * the fence is one backtick longer than the longest backtick run inside, so
 * nothing inside can close it, and the content is padded with a space when it
 * starts or ends with a backtick, or starts and ends with a space, because the
 * parser strips one space from each end in exactly that case. Inside a code
 * span GitHub renders no HTML, mention or reference. Empty text gives an empty
 * string (a code span cannot be empty).
 *
 * Not for GFM table cells: the row is split at pipes before code spans are
 * seen, and the two parsers disagree on `\\|` inside a span (cmark-gfm keeps
 * one cell, micromark splits); use markdownText there.
 */
export function markdownCode(text: string): string {
  const content = toDisplayText(text);
  if (content === '') return '';
  const fence = '`'.repeat(longestRun(content, '`') + 1);
  const stripped = content.startsWith(' ') && content.endsWith(' ') && !/^ +$/.test(content);
  const pad = stripped || content.startsWith('`') || content.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

/**
 * An http(s) URL as a CommonMark link destination (§6.3), or undefined for
 * anything else (`javascript:`, `data:`, credentials, relative or unparsable).
 * As an RFC 3986 URI it has no space, control, `<`, `>` or backslash; the
 * parentheses, which could end the destination, are percent-encoded too.
 */
export function markdownLinkDestination(url: string): string | undefined {
  return httpLinkUri(url)?.replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'));
}

// ---------------------------------------------------------------------------
// Fix hints

type HintBlock = { kind: 'prose'; line: string } | { kind: 'code'; info: string; lines: string[] };

/** An opening code fence (CommonMark §4.5); a backtick fence's info string may not contain a backtick. */
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;

function closesFence(line: string, fence: string): boolean {
  const match = /^ {0,3}(`+|~+)[ \t]*$/.exec(line);
  return match !== null && match[1]![0] === fence[0] && match[1]!.length >= fence.length;
}

/** Fenced code blocks and the lines of prose between them; an unclosed fence runs to the end, as in CommonMark. */
function hintBlocks(lines: readonly string[]): HintBlock[] {
  const blocks: HintBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE_OPEN.exec(line);
    if (!open || (open[1]!.startsWith('`') && open[2]!.includes('`'))) {
      blocks.push({ kind: 'prose', line });
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && !closesFence(lines[i + 1]!, open[1]!)) body.push(lines[++i]!);
    i++; // the closing fence
    blocks.push({ kind: 'code', info: open[2]!.trim(), lines: body });
  }
  return blocks;
}

/** A fence longer than any backtick run in the code, so no line of it can close the block; the info string reduced to a language name. */
function renderCodeBlock(info: string, lines: readonly string[]): string[] {
  const fence = '`'.repeat(Math.max(3, longestRun(lines.join('\n'), '`') + 1));
  const language = /^[\w.+#-]+/.exec(info)?.[0] ?? '';
  return [`${fence}${language}`, ...lines, fence];
}

/**
 * Inline code spans (a backtick run closed by the next run of the same length, §6.1) kept as code; the rest is
 * prose. Leading indentation is dropped: four columns of it would make an indented code block (§4.4), which shows
 * the escapes literally.
 */
function renderProseLine(line: string): string {
  let out = '';
  let rest = line.replace(/^[ \t]+/, '');
  for (;;) {
    const open = /`+/.exec(rest);
    if (!open) return out + markdownText(rest);
    const after = rest.slice(open.index + open[0].length);
    const close = new RegExp(`(?<!\`)${open[0]}(?!\`)`).exec(after);
    if (!close) return out + markdownText(rest);
    let code = after.slice(0, close.index);
    if (code.startsWith(' ') && code.endsWith(' ') && !/^ +$/.test(code)) code = code.slice(1, -1);
    out += markdownText(rest.slice(0, open.index)) + markdownCode(code);
    rest = after.slice(close.index + open[0].length);
  }
}

/**
 * A fix hint as Markdown. Hints are mostly ours (a sentence, `inline code`, a
 * fenced YAML or shell example), but a check may quote submission data in
 * one, so only that subset is rendered: fenced code blocks and inline code
 * spans are rebuilt with safe fences, paragraph breaks are kept, and
 * everything else is escaped prose (so a URL in a hint is not a link).
 */
export function markdownHint(hint: string): string {
  const lines = toDisplayText(hint, { multiline: true }).split('\n');
  return hintBlocks(lines)
    .flatMap((block) =>
      block.kind === 'code' ? renderCodeBlock(block.info, block.lines) : [renderProseLine(block.line)],
    )
    .join('\n');
}
