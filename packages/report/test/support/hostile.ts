/**
 * fast-check generators for what a student can put in a report: arbitrary
 * Unicode mixed with a weighted set of fragments known to break terminals,
 * Markdown or GitHub, in every string field of a Report.
 */
import fc from 'fast-check';
import {
  LABGRADER_VERSION,
  REPORT_SCHEMA_ID,
  type CheckMeta,
  type CriterionResult,
  type Report,
} from '@labgrader/core';

export const DANGEROUS_FRAGMENTS: readonly string[] = [
  // terminals
  '\u001b',
  '\u001b[2J',
  '\u001b[31m',
  '\u001b]8;;http://evil.example\u0007click\u001b]8;;\u0007',
  '\u001b]0;pwned\u001b\\',
  '\u001bP+q\u001b\\',
  '\u009b2J', // C1 CSI
  '\u009d8;;http://evil.example\u009c',
  '\u0085',
  '\r',
  '\r\n',
  '\n',
  '\b',
  '\u0000',
  '\u007f',
  '\t',
  '\u202e',
  '\u2066',
  '\u2069',
  '\u200f',
  '\u200b',
  '\u2028',
  '\ufeff',
  '\ud800', // a lone surrogate
  // Markdown and HTML
  '`',
  '``',
  '```',
  '~~~',
  ' ',
  '    ',
  '\\',
  '\\|',
  '|',
  '*',
  '**',
  '_',
  '~~',
  '$x$',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<details open>',
  '</details>',
  '<!--',
  '&#64;',
  '&lt;b&gt;',
  '&amp;',
  '[x](javascript:alert(1))',
  '](javascript:alert(1))',
  '![x](https://evil.example/x.png)',
  '[^1]',
  '[x]: https://evil.example',
  '\n# ',
  '\n## Score 40 / 40\n',
  '\n---\n',
  '\n===\n',
  '\n> ',
  '\n- ',
  '\n1. ',
  '\n    code',
  '\n\n',
  '- ',
  '+ ',
  '1. ',
  '1) ',
  '> ',
  '# ',
  '=',
  // GitHub references and autolinks
  '@user',
  '@org/team',
  'student@example.com',
  'mailto:a@b.co',
  '#1',
  'owner/repo#12',
  'GH-12',
  'https://evil.example',
  'http://evil.example/a_(b)',
  'www.evil.example',
  ':+1:',
  // ordinary text that must survive
  'é',
  'Ünïcödé',
  '日本語',
  '👩‍💻',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
  'k8s/deploy ment.yaml',
  'a)b#c?d%20e',
];

const fragment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...DANGEROUS_FRAGMENTS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
);

/** Mostly concatenations of dangerous fragments and random code points; sometimes a plain random string. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

/** Strings whose ends matter to a code span: CommonMark strips one space from each end, and a backtick there touches the fence. */
export const hostileCode: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('', ' ', '  ', '`', '``', ' `'), hostileString, fc.constantFrom('', ' ', '  ', '`', '` '))
  .map((parts) => parts.join(''));

const FENCE_LINES = [
  '```',
  '```yaml',
  '````',
  '~~~',
  '~~~~ sh',
  '~~~ `x`',
  '  ```',
  '``` `x`',
  '```yaml onerror=alert(1)',
];

/** Fix hints: lines, some of them code fences, so that code blocks open, close early or never close. */
export const hostileHint: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...FENCE_LINES), hostileString), { maxLength: 8 })
  .map((lines) => lines.join('\n'));

/** Hints without code syntax, lines indented at random: every word in them is prose. */
export const hostileProseHint: fc.Arbitrary<string> = fc
  .array(
    fc
      .tuple(fc.constantFrom('', '  ', '    ', '\t', '     '), hostileString)
      .map(([indent, line]) => indent + line.replace(/[`~]/g, '')),
    { maxLength: 6 },
  )
  .map((lines) => lines.join('\n'));

/** Check ids are ours and never empty; they are still escaped, so they are hostile here too. */
const checkId = hostileString.filter((s) => s.length > 0);

const location = fc.record(
  {
    file: hostileString,
    line: fc.integer({ min: 1, max: 9999 }),
    column: fc.integer({ min: 1, max: 999 }),
    endLine: fc.integer({ min: 1, max: 9999 }),
    endColumn: fc.integer({ min: 1, max: 999 }),
  },
  { requiredKeys: ['file', 'line', 'column'] },
);

const docsUrl = fc.oneof(
  hostileString,
  fc.constantFrom(
    'https://kubernetes.io/docs/concepts/workloads/',
    'https://example.com/a_(b)\\c d',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
  ),
);

const CRITERION_IDS = ['c0', 'c1'] as const;
const STATUSES = ['passed', 'partial', 'failed', 'skipped', 'not-gradable'] as const;

const criterion = (id: string) =>
  fc.record({
    id: fc.constant(id),
    title: hostileString,
    stage: fc.constantFrom('docs' as const, 'lint' as const, 'cluster' as const),
    points: fc.constant(1),
    maxPoints: fc.constant(2),
    status: fc.constantFrom(...STATUSES),
    checks: fc.constant<CriterionResult['checks']>([]),
    summary: hostileString,
  });

const finding = fc.record(
  {
    checkId,
    severity: fc.constantFrom('error' as const, 'warning' as const, 'info' as const),
    message: hostileString,
    location,
    fixHint: hostileHint,
    docsUrl,
    subject: hostileString,
    criteria: fc.subarray([...CRITERION_IDS], { minLength: 1 }),
  },
  { requiredKeys: ['checkId', 'severity', 'message', 'criteria'] },
);

const evidence = fc.record(
  { checkId, label: hostileString, detail: hostileString, location },
  { requiredKeys: ['checkId', 'label', 'detail'] },
);

const submission = fc.record(
  {
    source: fc.constantFrom('directory' as const, 'git' as const, 'github' as const),
    repository: hostileString,
    commit: hostileString,
    ref: hostileString,
    dirty: fc.boolean(),
    author: hostileString,
  },
  { requiredKeys: ['source', 'repository'] },
);

const notGradable = fc.record(
  { reason: hostileString, message: hostileString, hint: hostileString },
  { requiredKeys: ['reason', 'message'] },
);

export const hostileReport: fc.Arbitrary<Report> = fc
  .record({
    submission,
    rubric: fc.record({ id: hostileString, title: hostileString, digest: fc.constant('sha256:00') }),
    notGradable: fc.option(notGradable, { nil: undefined }),
    criteria: fc.tuple(criterion(CRITERION_IDS[0]), criterion(CRITERION_IDS[1])),
    findings: fc.array(finding, { maxLength: 4 }),
    evidence: fc.array(evidence, { maxLength: 3 }),
  })
  .map(({ notGradable: ng, ...fields }) => ({
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: 1 as const,
    tool: { name: 'labgrader' as const, version: LABGRADER_VERSION },
    ...fields,
    criteria: [...fields.criteria],
    status: ng ? ('not-gradable' as const) : ('graded' as const),
    ...(ng ? { notGradable: ng } : {}),
    score: { points: 1, maxPoints: 2, percent: 50, rubricMaxPoints: 4 },
    stages: [{ name: 'lint' as const, status: 'ok' as const, startedAt: '2026-11-21T10:00:00.000Z', durationMs: 80 }],
    startedAt: '2026-11-21T10:00:00.000Z',
    finishedAt: '2026-11-21T10:00:00.300Z',
    durationMs: 300,
  }));

/** Catalog entries for the check ids a report uses, with hostile titles, rationales and hints (SARIF rules). */
export function hostileRules(report: Report): fc.Arbitrary<CheckMeta[]> {
  const ids = [...new Set(report.findings.map((f) => f.checkId))];
  return fc.tuple(
    ...ids.map((id) =>
      fc.record(
        {
          id: fc.constant(id),
          stage: fc.constant('lint' as const),
          title: hostileString,
          rationale: hostileString,
          severity: fc.constant('warning' as const),
          fixHint: hostileHint,
          docsUrl,
        },
        { requiredKeys: ['id', 'stage', 'title', 'rationale', 'severity', 'fixHint'] },
      ),
    ),
  );
}
