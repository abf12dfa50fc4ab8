/**
 * Property tests of the output boundary: random hostile strings in every
 * student-controlled field of a report, every formatter, and the output read
 * back the way a terminal or a Markdown renderer would.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import type { Nodes, Root } from 'mdast';
import type { Log } from 'sarif';
import { toDisplayText, type Report } from '@labgrader/core';
import {
  formatMarkdown,
  formatText,
  htmlText,
  markdownCode,
  markdownHint,
  markdownText,
  renderReport,
} from '@labgrader/report';
import {
  hostileCode,
  hostileHint,
  hostileProseHint,
  hostileReport,
  hostileRules,
  hostileString,
} from './support/hostile.js';
import {
  autolinkPatternsIn,
  decodeOurEntities,
  nodesOfType,
  parseGfm,
  renderedText,
  trimMarkdownSpace,
  walk,
  withoutZeroWidthSpaces,
} from './support/markdown-ast.js';

const require = createRequire(import.meta.url);
const BLOB = 'https://github.com/student/lab-85/blob/0123456';
const REPORT_RUNS = { numRuns: 300 };
const ESCAPER_RUNS = { numRuns: 1000 };

/** What the escapers promise to show: the string after toDisplayText (one line, controls visible). */
const fold = (s: string) => toDisplayText(s);

// ---------------------------------------------------------------------------
// Text

/** Anything a terminal acts on or hides, other than LF and tab; complete emoji flag tag sequences are allowed. */
function terminalUnsafe(text: string): string[] {
  const withoutFlags = text.replace(/\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu, '');
  return [...withoutFlags.matchAll(/(?![\n\t\u200C\u200D])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu)].map((m) => m[0]);
}

// eslint-disable-next-line no-control-regex -- our colour sequences start with ESC
const SGR = /\u001b\[\d+(?:;\d+)*m/g;

/** The lines we print at column 0 after the two header lines; anything else must be indented. */
const OUR_TOP_LEVEL_LINE =
  /^(?:|Score {2}.*|NOT GRADABLE {2}.*|Evidence|Findings \(.*\)|How to fix|No findings\.|stages: .*)$/;

describe('text format, hostile strings (property)', () => {
  it('emits no control, bidi or invisible character, and student strings cannot add top-level lines', () => {
    fc.assert(
      fc.property(hostileReport, fc.boolean(), (report, findingsOnly) => {
        const plain = formatText(report, { findingsOnly });
        expect(terminalUnsafe(plain)).toEqual([]);
        const lines = plain.split('\n');
        expect(lines[0]).toMatch(/^labgrader · /);
        expect(lines.slice(2).filter((l) => !l.startsWith(' ') && !OUR_TOP_LEVEL_LINE.test(l))).toEqual([]);

        const coloured = formatText(report, { findingsOnly, color: true });
        expect(coloured.replace(SGR, '')).toBe(plain); // every ESC is one of our colours, and colour hides nothing
      }),
      REPORT_RUNS,
    );
  });

  it('shows every student string, folded', () => {
    fc.assert(
      fc.property(hostileReport, (report) => {
        const text = formatText(report);
        const shown = [
          ...report.findings.flatMap((f) => [f.message, f.location?.file ?? '']),
          ...report.criteria.map((c) => c.title),
          ...(report.notGradable ? [report.notGradable.message] : []),
        ];
        for (const s of shown) expect(text).toContain(fold(s));
      }),
      REPORT_RUNS,
    );
  });
});

// ---------------------------------------------------------------------------
// Markdown: each escaper in the contexts the report uses

const FORBIDDEN_NODE_TYPES = new Set<Nodes['type']>([
  'html',
  'heading',
  'link',
  'linkReference',
  'image',
  'imageReference',
  'definition',
  'footnoteReference',
  'footnoteDefinition',
  'delete',
  'emphasis',
  'strong',
  'thematicBreak',
  'blockquote',
  'list',
]);

function forbiddenNodes(root: Nodes, allowed: readonly Nodes['type'][] = []): string[] {
  return [...walk(root)]
    .filter((n) => FORBIDDEN_NODE_TYPES.has(n.type) && !allowed.includes(n.type))
    .map((n) => n.type);
}

/** Mention, reference and autolink patterns in text nodes (code is exempt: GitHub does not link inside it). */
function autolinkableText(root: Nodes): string[] {
  return nodesOfType(root, 'text').flatMap((n) =>
    autolinkPatternsIn(n.value).map((p) => `${p} in ${JSON.stringify(n.value)}`),
  );
}

function onlyChild(root: Root): Nodes {
  expect(root.children).toHaveLength(1);
  return root.children[0]!;
}

describe('markdown escapers (property)', () => {
  it('markdownText renders exactly the folded string, inert, mid-paragraph and after a `]`', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        for (const [before, after] of [
          ['x ', ' y'],
          ['[x]', ' y'],
          ['- x ', ''],
        ] as const) {
          const root = parseGfm(`${before}${markdownText(s)}${after}`);
          expect(forbiddenNodes(root, before.startsWith('-') ? ['list'] : [])).toEqual([]);
          expect(autolinkableText(root)).toEqual([]);
          const expected = trimMarkdownSpace(`${before.replace(/^- /, '')}${fold(s)}${after}`);
          expect(withoutZeroWidthSpaces(renderedText(root))).toBe(expected);
        }
      }),
      ESCAPER_RUNS,
    );
  });

  it('markdownText stays in its heading, table cell and link text', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const heading = onlyChild(parseGfm(`## ${markdownText(s)}`));
        expect(heading.type).toBe('heading');
        expect(forbiddenNodes(heading, ['heading'])).toEqual([]);
        expect(withoutZeroWidthSpaces(renderedText(heading))).toBe(trimMarkdownSpace(fold(s)));

        const table = onlyChild(parseGfm(`| a | b |\n| --- | --- |\n| ${markdownText(s)} | z |`));
        expect(table.type).toBe('table');
        const cells = nodesOfType(table, 'tableRow')[1]!.children;
        expect(cells.map((c) => withoutZeroWidthSpaces(renderedText(c)))).toEqual([trimMarkdownSpace(fold(s)), 'z']);
        expect(forbiddenNodes(table)).toEqual([]);

        const root = parseGfm(`see [${markdownText(s)}](https://example.com/) now`);
        const links = nodesOfType(root, 'link');
        expect(links).toHaveLength(1);
        expect(links[0]!.url).toBe('https://example.com/');
        expect(forbiddenNodes(links[0]!, ['link'])).toEqual([]);
        expect(withoutZeroWidthSpaces(renderedText(links[0]!))).toBe(fold(s));
      }),
      ESCAPER_RUNS,
    );
  });

  it('markdownText at the start of a line opens no block', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const line = markdownText(s.replace(/^[ \t]+/, '')); // as markdownHint does: indentation would be code
        const root = parseGfm(`First line\n${line}\n\n${line}`);
        expect(forbiddenNodes(root)).toEqual([]);
        expect(root.children.every((n) => n.type === 'paragraph')).toBe(true);
        expect(autolinkableText(root)).toEqual([]);
      }),
      ESCAPER_RUNS,
    );
  });

  it('markdownCode is one code span showing exactly the folded string, also as link text', () => {
    fc.assert(
      fc.property(hostileCode, (s) => {
        const code = markdownCode(s);
        const root = parseGfm(`x ${code} y [${code}](https://example.com/)`);
        const spans = nodesOfType(root, 'inlineCode');
        expect(spans.map((n) => n.value)).toEqual(fold(s) === '' ? [] : [fold(s), fold(s)]);
        expect(nodesOfType(root, 'link')).toHaveLength(1);
        expect(forbiddenNodes(root, ['link'])).toEqual([]);
        expect(autolinkableText(root)).toEqual([]);
      }),
      ESCAPER_RUNS,
    );
  });

  it('htmlText stays inside our HTML block and decodes to the folded string', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const line = `<details><summary><strong>${htmlText(s)}</strong>: 1 finding</summary>`;
        const root = parseGfm(`${line}\n\nafter`);
        expect(root.children.map((n) => n.type)).toEqual(['html', 'paragraph']);
        const title = /^<details><summary><strong>([^<>]*)<\/strong>: 1 finding<\/summary>$/.exec(
          (root.children[0] as { value: string }).value,
        )?.[1];
        expect(title).toBeDefined();
        expect(title).not.toMatch(/&(?!(?:amp|lt|gt|quot|#8203);)/);
        const decoded = decodeOurEntities(title!);
        expect(autolinkPatternsIn(decoded)).toEqual([]);
        expect(withoutZeroWidthSpaces(decoded)).toBe(fold(s));
      }),
      ESCAPER_RUNS,
    );
  });

  it('markdownHint renders only paragraphs, inline code and code blocks, and cannot leave a block open', () => {
    fc.assert(
      fc.property(hostileHint, (hint) => {
        const root = parseGfm(`${markdownHint(hint)}\n\n</details>`);
        expect(forbiddenNodes(root, ['html'])).toEqual([]);
        expect(nodesOfType(root, 'html').map((n) => n.value)).toEqual(['</details>']); // still ours, still closing
        expect(autolinkableText(root)).toEqual([]);
      }),
      ESCAPER_RUNS,
    );
  });

  it('markdownHint keeps every word of prose as text, whitespace aside', () => {
    const words = (s: string) => s.split(/[ \t\n]+/).filter(Boolean);
    fc.assert(
      fc.property(hostileProseHint, (hint) => {
        const root = parseGfm(markdownHint(hint));
        expect(root.children.every((n) => n.type === 'paragraph')).toBe(true);
        expect(words(withoutZeroWidthSpaces(root.children.map(renderedText).join('\n')))).toEqual(
          words(toDisplayText(hint, { multiline: true })),
        );
      }),
      ESCAPER_RUNS,
    );
  });
});

// ---------------------------------------------------------------------------
// Markdown: the whole report

const OUR_HTML = new Set([
  '<sub>',
  '</sub>',
  '</details>',
  '<details><summary><strong>Evidence</strong>: what was found and measured</summary>',
]);
const SUMMARY = /^<details(?: open)?><summary><strong>([^<>]*)<\/strong>: \d+ findings?<\/summary>$/;
const ICON: Record<string, string> = { error: '❌', warning: '⚠️', info: 'ℹ️' };
const STATUS_LABELS = ['✅ passed', '🟡 partial', '❌ failed', '⏭️ skipped', '⚠️ not graded'];

function visible(node: Nodes): string {
  return withoutZeroWidthSpaces(renderedText(node));
}

function expectOnlyOurHtml(root: Root, report: Report): void {
  const titles = report.criteria.map((c) => fold(c.title));
  for (const node of nodesOfType(root, 'html')) {
    if (OUR_HTML.has(node.value)) continue;
    const title = SUMMARY.exec(node.value)?.[1];
    expect({ html: node.value, ours: title !== undefined }).toEqual({ html: node.value, ours: true });
    expect(autolinkPatternsIn(decodeOurEntities(title!))).toEqual([]);
    expect(titles).toContain(withoutZeroWidthSpaces(decodeOurEntities(title!)));
  }
}

function expectOnlyOurLinks(root: Root, report: Report): void {
  const locations = report.findings.flatMap((f) => (f.location ? [`${f.location.file}:${f.location.line}`] : []));
  for (const link of nodesOfType(root, 'link')) {
    if (link.children.length === 1 && link.children[0]!.type === 'inlineCode') {
      // A location link: its text is a finding's file:line, its URL that file's blob URL.
      expect(locations.map(fold)).toContain(link.children[0].value);
      expect(link.url.startsWith(`${BLOB}/`)).toBe(true);
      const [, path, line] = /^(.*)#L(\d+)$/.exec(link.url.slice(BLOB.length + 1))!;
      // Lone surrogates cannot be percent-encoded; the URL carries U+FFFD for them.
      expect(locations.map((l) => l.replace(/\p{Cs}/gu, '\uFFFD'))).toContain(`${decodeURIComponent(path!)}:${line}`);
    } else {
      expect(visible(link)).toBe('docs');
      expect(['https:', 'http:']).toContain(new URL(link.url).protocol);
    }
  }
}

function expectOnlyOurEmphasis(root: Root, report: Report): void {
  const hintIds = new Set(report.findings.filter((f) => f.fixHint).map((f) => `How to fix ${fold(f.checkId)}`));
  for (const strong of nodesOfType(root, 'strong')) {
    const text = visible(strong);
    expect(/^Score: [\d.]+ \/ [\d.]+ \([\d.]+%\)$/.test(text) || text === 'Not gradable:' || hintIds.has(text)).toBe(
      true,
    );
  }
  for (const emphasis of nodesOfType(root, 'emphasis'))
    expect(visible(emphasis)).toMatch(
      /^(?:[\d.]+ of [\d.]+ points were not graded; see the table\.|…and \d+ more findings; see the check run for the full list\.)$/,
    );
}

function expectStudentStringsInPlace(root: Root, report: Report): void {
  const heading = nodesOfType(root, 'heading');
  expect(heading.map((h) => [h.depth, visible(h)])).toEqual([
    [2, trimMarkdownSpace(`labgrader: ${fold(report.rubric.title)}`)],
  ]);

  const rows = nodesOfType(root, 'table')[0]!.children.slice(1);
  expect(rows.map((r) => r.children.map(visible))).toEqual(
    report.criteria.map((c) => [
      trimMarkdownSpace(fold(c.title)),
      expect.any(String),
      STATUS_LABELS.find((l) => l.endsWith(c.status === 'not-gradable' ? 'not graded' : c.status)),
      c.status === 'passed' ? '' : trimMarkdownSpace(fold(c.summary)),
    ]),
  );

  const items = nodesOfType(root, 'listItem').map(visible);
  for (const f of report.findings) {
    const where = f.location ? fold(`${f.location.file}:${f.location.line}`) : '';
    expect(items).toContain(`${ICON[f.severity]} ${where} ${fold(f.message)} ${fold(f.checkId)}`);
  }
  for (const e of report.evidence.filter((x) => !x.detail.includes('\n')))
    expect(items).toContain(`${fold(e.checkId)} ${fold(e.label)}: ${fold(e.detail)}`.replace(/[ \t]+$/, '')); // ends the line

  const quotes = nodesOfType(root, 'blockquote');
  if (report.notGradable) {
    const squash = (s: string) => s.replace(/[ \t\n]+/g, ' ').trim();
    const { message, hint } = report.notGradable;
    expect(quotes.map((q) => squash(visible(q)))).toEqual([
      squash(`[!WARNING] Not gradable: ${fold(message)} ${hint ? fold(hint) : ''}`),
    ]);
  } else expect(quotes).toEqual([]);

  const footer = root.children.at(-1)!;
  const commit = report.submission.commit ? ` at ${fold(report.submission.commit.slice(0, 12))}` : '';
  expect(visible(footer)).toBe(
    `labgrader ${report.tool.version} · rubric ${fold(report.rubric.id)}${commit} · ${report.durationMs / 1000} s`,
  );
}

describe('markdown format, hostile strings (property)', () => {
  it('renders no HTML, heading, link or emphasis but ours, nothing GitHub would link, and every string in its place', () => {
    fc.assert(
      fc.property(hostileReport, (report) => {
        const root = parseGfm(formatMarkdown(report, { blobUrl: BLOB }));
        expect(forbiddenNodes(root, ['html', 'heading', 'link', 'strong', 'emphasis', 'blockquote', 'list'])).toEqual(
          [],
        );
        expect(autolinkableText(root)).toEqual([]);
        expectOnlyOurHtml(root, report);
        expectOnlyOurLinks(root, report);
        expectOnlyOurEmphasis(root, report);
        expectStudentStringsInPlace(root, report);
      }),
      REPORT_RUNS,
    );
  });
});

// ---------------------------------------------------------------------------
// JSON and SARIF

describe('JSON and SARIF formats, hostile strings (property)', () => {
  const sarifSchema = JSON.parse(
    readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
  ) as object;
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats.default(ajv);
  const validateSarif = ajv.compile(sarifSchema);

  it('JSON round-trips the exact strings', () => {
    fc.assert(
      fc.property(hostileReport, (report) => {
        expect(JSON.parse(renderReport(report, 'json'))).toEqual(report);
      }),
      REPORT_RUNS,
    );
  });

  it('SARIF is valid, carries the exact strings, and its Markdown help is inert', () => {
    const reportWithRules = hostileReport.chain((report) => hostileRules(report).map((rules) => ({ report, rules })));
    fc.assert(
      fc.property(reportWithRules, ({ report, rules }) => {
        const log = JSON.parse(renderReport(report, 'sarif', { rules })) as Log;
        expect(validateSarif(log) ? [] : validateSarif.errors).toEqual([]);
        const run = log.runs[0]!;
        expect(run.results?.map((r) => r.message.text)).toEqual(report.findings.map((f) => f.message));
        expect(run.results?.map((r) => (r.properties as { subject?: string }).subject)).toEqual(
          report.findings.map((f) => f.subject || undefined), // an empty subject is left out
        );
        run.results?.forEach((result, i) => {
          const file = report.findings[i]!.location?.file;
          const uri = result.locations?.[0]?.physicalLocation?.artifactLocation?.uri;
          // Lone surrogates cannot be percent-encoded; they are sent as U+FFFD.
          expect(uri === undefined ? undefined : decodeURIComponent(uri)).toBe(file?.replace(/\p{Cs}/gu, '\uFFFD'));
        });
        for (const rule of run.tool.driver.rules ?? []) {
          const meta = rules.find((m) => m.id === rule.id)!;
          expect(rule.shortDescription?.text).toBe(meta.title);
          expect(rule.fullDescription?.text).toBe(meta.rationale || undefined);
          expect(rule.help?.text).toBe(meta.fixHint || undefined);
          if (rule.help) {
            const help = parseGfm(rule.help.markdown!);
            expect(forbiddenNodes(help)).toEqual([]);
            expect(autolinkableText(help)).toEqual([]);
          }
        }
        if (report.notGradable)
          expect(run.invocations?.[0]?.toolExecutionNotifications?.[0]?.message.text).toBe(report.notGradable.message);
      }),
      REPORT_RUNS,
    );
  });
});
