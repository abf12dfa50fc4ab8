/**
 * Reading our Markdown back the way a renderer does: micromark (CommonMark +
 * GFM: tables, autolink literals, strikethrough, footnotes, task lists) into
 * an mdast tree. GitHub uses cmark-gfm; the two agree on everything these
 * tests look at, and where they do not (a `\|` inside a code span in a table
 * cell) the escapers avoid the construct.
 */
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import type { Nodes, Root } from 'mdast';

export function parseGfm(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

export function* walk(node: Nodes): Generator<Nodes> {
  yield node;
  if ('children' in node) for (const child of node.children) yield* walk(child);
}

export function nodesOfType<T extends Nodes['type']>(root: Nodes, type: T): Extract<Nodes, { type: T }>[] {
  return [...walk(root)].filter((n): n is Extract<Nodes, { type: T }> => n.type === type);
}

/** What a reader sees: text and code, a line break as LF; raw HTML contributes nothing. Zero-width spaces kept. */
export function renderedText(node: Nodes): string {
  if (node.type === 'text' || node.type === 'inlineCode' || node.type === 'code') return node.value;
  if (node.type === 'break') return '\n';
  if ('children' in node) return node.children.map(renderedText).join('');
  return '';
}

/** The zero-width spaces the escapers insert to break mentions and autolinks; invisible, so not part of the content. */
export function withoutZeroWidthSpaces(text: string): string {
  return text.replaceAll('\u200B', '');
}

/** Renderers trim spaces and tabs around heading and table-cell content (CommonMark §4.2, GFM §4.10). */
export function trimMarkdownSpace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The entities htmlText writes; anything else left in the string makes the comparison fail, as it should. */
export function decodeOurEntities(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#8203': '\u200B' };
  return html.replace(/&(amp|lt|gt|quot|#8203);/g, (_m, name: string) => entities[name]!);
}

/** Text a GitHub filter would turn into a mention, issue reference or link if it is outside code. */
export const GITHUB_AUTOLINK_PATTERNS: readonly RegExp[] = [
  /@\w/, // @user, @org/team, and e-mail addresses
  /#\d/, // #12, owner/repo#12
  /GH-\d/i,
  /[a-z]:\/\//i, // http://, https://, ftp://
  /www\./i,
];

export function autolinkPatternsIn(text: string): RegExp[] {
  return GITHUB_AUTOLINK_PATTERNS.filter((p) => p.test(text));
}
