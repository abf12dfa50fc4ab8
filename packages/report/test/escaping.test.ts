import { describe, expect, it } from '@jest/globals';
import { toDisplayText, type Report, type ReportFinding } from '@labgrader/core';
import {
  formatMarkdown,
  formatSarif,
  formatText,
  htmlText,
  markdownCode,
  markdownHint,
  markdownLinkDestination,
  markdownText,
} from '@labgrader/report';
import { sampleReport } from './sample-report.js';

const OSC8_LINK = '\u001b]8;;http://evil.example\u0007click\u001b]8;;\u0007';
const BLOB = 'https://github.com/student/lab-85/blob/0123456';

function oneFinding(finding: Partial<ReportFinding>, overrides: Partial<Report> = {}): Report {
  return sampleReport({
    findings: [{ checkId: 'lint/host-access', severity: 'error', message: 'x', criteria: ['limits'], ...finding }],
    ...overrides,
  });
}

describe('toDisplayText', () => {
  it('shows C0 controls and DEL as control pictures, so no escape sequence reaches the terminal', () => {
    expect(toDisplayText(OSC8_LINK)).toBe('␛]8;;http://evil.example␇click␛]8;;␇');
    expect(toDisplayText('\u001b[2J\u001b[31m0 / 10\b\b\u0000\u007f')).toBe('␛[2J␛[31m0 / 10␈␈␀␡');
  });

  it('shows C1 controls, bidi controls and invisible format characters by code point', () => {
    expect(toDisplayText('\u009b2J\u0085')).toBe('<U+009B>2J<U+0085>');
    expect(toDisplayText('invoice\u202egpj.exe \u2066x\u2069')).toBe('invoice<U+202E>gpj.exe <U+2066>x<U+2069>');
    expect(toDisplayText('ad\u200bmin\ufeff\u2028')).toBe('ad<U+200B>min<U+FEFF><U+2028>');
    expect(toDisplayText('\ud800')).toBe('<U+D800>');
  });

  it('folds every kind of line break in a one-line field, and normalizes them in a multi-line one', () => {
    expect(toDisplayText('ok\rScore 40 / 40\r\nx\ny')).toBe('ok⏎Score 40 / 40⏎x⏎y');
    expect(toDisplayText('a\r\nb\rc\nd', { multiline: true })).toBe('a\nb\nc\nd');
  });

  it('keeps ordinary text: accents, CJK, emoji sequences, flags and tabs', () => {
    const ordinary = 'Crème brûlée, 日本語, 👩‍💻, 🇫🇷, 🏴󠁧󠁢󠁳󠁣󠁴󠁿, زبان‌ها\tend';
    expect(toDisplayText(ordinary)).toBe(ordinary);
  });
});

describe('markdownText', () => {
  it('escapes HTML and Markdown punctuation', () => {
    expect(markdownText('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert\\(1\\)&gt;');
    expect(markdownText('[click](javascript:alert(1)) ![i](x)')).toBe(
      '\\[click\\]\\(javascript:alert\\(1\\)\\) \\!\\[i\\]\\(x\\)',
    );
    expect(markdownText('DB_PASSWORD | *x* ~~y~~ $z$ `c` \\')).toBe(
      'DB\\_PASSWORD \\| \\*x\\* \\~\\~y\\~\\~ \\$z\\$ \\`c\\` \\\\',
    );
  });

  it("keeps a student's entity as text", () => {
    expect(markdownText('&#64;user &lt;')).toBe('&amp;\\#&#8203;64;user &amp;lt;');
  });

  it('defuses mentions, issue references and autolinks with a zero-width space', () => {
    expect(markdownText('@user @org/team a@b.co')).toBe('@&#8203;user @&#8203;org/team a@&#8203;b.co');
    expect(markdownText('#12 owner/repo#12 GH-12')).toBe('\\#&#8203;12 owner/repo\\#&#8203;12 GH-&#8203;12');
    expect(markdownText('https://evil.example www.evil.example')).toBe(
      'https&#8203;://evil.example www&#8203;.evil.example',
    );
  });

  it('folds line breaks, so a name cannot start a heading, and escapes block markers at the start', () => {
    expect(markdownText('web\n\n# Score 40 / 40')).toBe('web⏎⏎\\# Score 40 / 40');
    expect(markdownText('- item')).toBe('\\- item');
    expect(markdownText('---')).toBe('\\---');
    expect(markdownText('1. item')).toBe('1\\. item');
    expect(markdownText('+ item')).toBe('\\+ item');
    expect(markdownText('> quote')).toBe('&gt; quote');
    expect(markdownText('1.3 s (pod-kill)')).toBe('1.3 s \\(pod-kill\\)');
  });
});

describe('markdownCode', () => {
  it('uses a fence longer than any backtick run inside, padded where CommonMark strips a space', () => {
    expect(markdownCode('k8s/deploy.yaml:3')).toBe('`k8s/deploy.yaml:3`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('`start')).toBe('`` `start ``');
    expect(markdownCode('end``')).toBe('``` end`` ```');
    expect(markdownCode(' padded ')).toBe('`  padded  `');
    expect(markdownCode('  ')).toBe('`  `');
    expect(markdownCode('')).toBe('');
  });

  it('shows line breaks as ⏎ and keeps HTML and mentions literal (code spans render neither)', () => {
    expect(markdownCode('a\n# b <img> @user')).toBe('`a⏎# b <img> @user`');
  });
});

describe('htmlText', () => {
  it('escapes with entities only, since raw HTML blocks are not Markdown', () => {
    expect(htmlText('</summary><img src=x onerror=alert(1)> "q" & @y *z*')).toBe(
      '&lt;/summary&gt;&lt;img src=x onerror=alert(1)&gt; &quot;q&quot; &amp; @&#8203;y *z*',
    );
  });
});

describe('markdownLinkDestination', () => {
  it('accepts http(s) only and encodes what would end or escape a destination', () => {
    expect(markdownLinkDestination('javascript:alert(1)')).toBeUndefined();
    expect(markdownLinkDestination('data:text/html,<script>')).toBeUndefined();
    expect(markdownLinkDestination('docs/relative.md')).toBeUndefined();
    expect(markdownLinkDestination('https://github.com@evil.example/')).toBeUndefined();
    expect(markdownLinkDestination('https://example.com/a_(b) c?q=(1)#f\\g')).toBe(
      'https://example.com/a_%28b%29%20c?q=%281%29#f%5Cg',
    );
  });
});

describe('markdownHint', () => {
  it('leaves our ordinary hints as they are', () => {
    const hint = 'Set limits:\n\n```yaml\nresources:\n  limits:\n    memory: 128Mi\n```';
    expect(markdownHint(hint)).toBe(hint);
    expect(markdownHint('Run `kubectl rollout undo deployment/web` first.')).toBe(
      'Run `kubectl rollout undo deployment/web` first.',
    );
  });

  it('rebuilds code with safe fences and escapes the rest', () => {
    const hint = 'Rename <b>@admin</b>\n# x\n```yaml onerror=alert(1)\nkey: "```"\n</details>\n```\n~~~\nunclosed';
    expect(markdownHint(hint)).toBe(
      [
        'Rename &lt;b&gt;@&#8203;admin&lt;/b&gt;',
        '\\# x',
        '````yaml',
        'key: "```"',
        '</details>',
        '````',
        '```',
        'unclosed',
        '```',
      ].join('\n'),
    );
  });
});

describe('text report with hostile strings', () => {
  const report = oneFinding({
    message: `Container "${OSC8_LINK}" is privileged\rScore 40 / 40`,
    location: { file: 'k8s/\u001b[2Jevil\u202e.yaml', line: 3, column: 5 },
    fixHint: 'Drop it:\r\n\u001b[8mhidden',
  });

  it('prints the data inert and on its own line', () => {
    const text = formatText(report);
    expect(text).toContain(
      '    k8s/␛[2Jevil<U+202E>.yaml:3:5  error    Container "␛]8;;http://evil.example␇click␛]8;;␇" is privileged⏎Score 40 / 40  [lint/host-access]\n',
    );
    expect(text).toContain('\n    Drop it:\n    ␛[8mhidden\n');
  });

  it('colours after escaping: the only escape sequences left are our SGR colours', () => {
    const text = formatText(report, { color: true });
    expect(text).toContain('\u001b[36mk8s/␛[2Jevil<U+202E>.yaml:3:5\u001b[39m');
    // eslint-disable-next-line no-control-regex -- removing our colour sequences, which start with ESC
    expect(text.replace(/\u001b\[\d+m/g, '')).toBe(formatText(report));
  });
});

describe('markdown report with hostile strings', () => {
  it('puts a hostile path in a safe code span and percent-encodes it in the link', () => {
    const md = formatMarkdown(
      oneFinding({
        message: '@admin see #1 <script>alert(1)</script>',
        location: { file: 'docs/`x` a)b#c?.md', line: 3, column: 1 },
      }),
      { blobUrl: BLOB },
    );
    expect(md).toContain(
      `- ❌ [\`\`docs/\`x\` a)b#c?.md:3\`\`](${BLOB}/docs/%60x%60%20a%29b%23c%3F.md#L3) @&#8203;admin see \\#&#8203;1 &lt;script&gt;alert\\(1\\)&lt;/script&gt; <sub>\`lint/host-access\`</sub>\n`,
    );
  });

  it('does not link paths a URL resolver would reinterpret', () => {
    const md = formatMarkdown(oneFinding({ location: { file: '../../other/repo', line: 1, column: 1 } }), {
      blobUrl: BLOB,
    });
    expect(md).toContain('- ❌ `../../other/repo:1` x <sub>');
  });

  it('keeps table cells, the summary and the not-gradable note in their place', () => {
    const report = oneFinding(
      {},
      {
        criteria: [{ ...sampleReport().criteria[0]!, title: 'Limits | 40 / 40 | ✅ passed</summary><img src=x>' }],
        status: 'not-gradable',
        notGradable: { reason: 'x', message: 'oops\n\n# Score 40 / 40', hint: '@org/team, see GH-1' },
      },
    );
    const md = formatMarkdown(report);
    expect(md).toContain(
      '| Limits \\| 40 / 40 \\| ✅ passed&lt;/summary&gt;&lt;img src=x&gt; | 7.5 / 10 | 🟡 partial |',
    );
    expect(md).toContain(
      '<details open><summary><strong>Limits | 40 / 40 | ✅ passed&lt;/summary&gt;&lt;img src=x&gt;</strong>: 1 finding</summary>',
    );
    expect(md).toContain('> **Not gradable:** oops⏎⏎\\# Score 40 / 40\n> @&#8203;org/team, see GH-&#8203;1\n');
  });

  it('links docs only over http(s)', () => {
    const md = formatMarkdown(oneFinding({ fixHint: 'Fix it.', docsUrl: 'javascript:alert(1)' }));
    expect(md).toContain('**How to fix `lint/host-access`**\n');
  });
});

describe('SARIF with hostile strings', () => {
  it('keeps text fields exact and escapes the Markdown help', () => {
    const hint = 'Do <img src=x onerror=alert(1)> @admin';
    const log = formatSarif(
      oneFinding({ message: OSC8_LINK, fixHint: hint, location: { file: 'a b/\ud800', line: 1, column: 1 } }),
    );
    const run = log.runs[0]!;
    expect(run.results?.[0]?.message.text).toBe(OSC8_LINK);
    expect(run.tool.driver.rules?.[0]?.help).toEqual({
      text: hint,
      markdown: 'Do &lt;img src=x onerror=alert\\(1\\)&gt; @&#8203;admin',
    });
    expect(run.results?.[0]?.locations?.[0]?.physicalLocation?.artifactLocation?.uri).toBe('a%20b/%EF%BF%BD');
  });

  it('gives help and repository URIs only for URLs a viewer may open, written as RFC 3986 URIs', () => {
    const uris = (docsUrl: string, repository: string) => {
      const run = formatSarif(
        oneFinding({ fixHint: 'x', docsUrl }, { submission: { source: 'git', repository, commit: 'abc' } }),
      ).runs[0]!;
      return [run.tool.driver.rules?.[0]?.helpUri, run.versionControlProvenance?.[0]?.repositoryUri];
    };
    expect(uris('javascript:alert(1)', 'javascript:alert(1)')).toEqual([undefined, undefined]);
    expect(uris('https://example.com/a|b#c#d', 'ssh://git@example.com/o/r^x')).toEqual([
      'https://example.com/a%7Cb#c%23d',
      'ssh://git@example.com/o/r%5Ex',
    ]);
    // WHATWG accepts a backtick or braces in a host; RFC 3986 does not (found by the property test).
    expect(uris('https://h{x}.example/', 'https://evil.example`')).toEqual([undefined, undefined]);
    expect(uris('https://kubernetes.io/docs/', 'git@github.com:o/r.git')).toEqual([
      'https://kubernetes.io/docs/',
      undefined,
    ]);
  });
});
