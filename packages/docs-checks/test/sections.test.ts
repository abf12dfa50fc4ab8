import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome } from '@labgrader/core';
import { buildDocument, findSection, normalizeHeading, compilePatterns } from '../src/markdown/document.js';
import { parseMarkdown } from '../src/markdown/parse.js';
import { prepare, run } from './helpers/grade.js';
import { memoryRepo } from './helpers/memory-repo.js';

const words = (n: number, word = 'word'): string => Array.from({ length: n }, () => word).join(' ');
const lines = (o: CheckOutcome): string[] => o.findings.map((f) => `${f.location?.line} ${f.subject}: ${f.message}`);

async function sections(notes: string, options: unknown): Promise<CheckOutcome> {
  return run(await prepare(memoryRepo({ 'architecture-notes.md': notes })), 'docs/required-sections', options);
}

async function doc(text: string) {
  const parsed = await parseMarkdown(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return buildDocument('n.md', text, parsed.tree);
}

describe('section model', () => {
  it('normalises headings: case, punctuation, emoji and leading numbering', () => {
    expect(normalizeHeading('3.2) Configuration & Secrets 🔐')).toBe('configuration secrets');
    expect(normalizeHeading('Roll-back plan')).toBe('roll back plan');
    expect(normalizeHeading('1. 2. Overview')).toBe('overview');
  });

  it('treats a single leading H1 as the title, never as a section', async () => {
    const d = await doc('# Architecture notes for lab 85\n\nIntro.\n\n## Components\n\nText.\n');
    expect(d.title?.text).toBe('Architecture notes for lab 85');
    expect(findSection(d, compilePatterns(['architect']))).toBeUndefined();
    const flat = await doc('# Architecture\n\nText.\n\n# Components\n\nText.\n');
    expect(flat.title).toBeUndefined();
    expect(findSection(flat, compilePatterns(['architect']))?.line).toBe(1);
  });

  it('prefers shallower headings, then whole-heading matches, then document order', async () => {
    const d = await doc(
      '# T\n\n## Failure\n\n### Rollback\n\nx\n\n## Rollback plan\n\ny\n\n## Notes on rollback\n\nz\n',
    );
    expect(findSection(d, compilePatterns(['roll ?back']))?.text).toBe('Rollback plan');
    const setext = await doc('Title\n=====\n\nRollback\n--------\n\nText\n');
    expect(findSection(setext, compilePatterns(['rollback']))?.line).toBe(4);
  });
});

describe('docs/required-sections', () => {
  it('counts prose words only: code blocks, HTML and image alt text do not count', async () => {
    const notes = [
      '# T',
      '',
      '## Architecture',
      '',
      words(5),
      '',
      '```yaml',
      words(50, 'code'),
      '```',
      '',
      `<div>${words(50, 'html')}</div>`,
      '',
      `![${words(20, 'alt')}](a.png)`,
      '',
      `| a | b |\n|---|---|\n| ${words(3)} | \`inline\` |`,
    ].join('\n');
    // 5 words, then the table: 2 header cells, 3 words and one inline code span.
    const outcome = await sections(notes, { sections: [{ title: 'Architecture', minWords: 12 }] });
    expect(lines(outcome)).toEqual([
      "3 Architecture: The 'Architecture' section has 11 words of prose; write at least 12.",
    ]);
  });

  it('matches synonyms and numbered headings, and names the heading it used', async () => {
    const notes = `# T\n\n## 2. System overview\n\n${words(3)}\n`;
    const outcome = await sections(notes, {
      sections: [{ title: 'Architecture', patterns: ['architecture', 'overview'], minWords: 4 }],
    });
    expect(lines(outcome)).toEqual([
      "3 Architecture: The 'Architecture' ('2. System overview') section has 3 words of prose; write at least 4.",
    ]);
  });

  it('does not count a subsection claimed by another required section', async () => {
    const notes = `# T\n\n## Architecture\n\n${words(2)}\n\n### Components\n\n${words(20)}\n`;
    const outcome = await sections(notes, {
      sections: [
        { title: 'Architecture', minWords: 10 },
        { title: 'Components', minWords: 10 },
      ],
    });
    expect([outcome.passed, outcome.examined]).toEqual([1, 2]);
    expect(lines(outcome)).toEqual([
      "3 Architecture: The 'Architecture' section has 2 words of prose; write at least 10.",
    ]);
    const unclaimed = await sections(notes, { sections: [{ title: 'Architecture', minWords: 10 }] });
    expect(unclaimed.passed).toBe(1);
  });

  it('reports a missing section with the patterns it looked for', async () => {
    const outcome = await sections(`# T\n\n## Other\n\n${words(50)}\n`, {
      sections: [{ title: 'Rollback plan', patterns: ['roll ?back', 'revert'] }],
    });
    expect(lines(outcome)).toEqual([
      "1 Rollback plan: The notes have no 'Rollback plan' section (no heading matching /roll ?back/, /revert/).",
    ]);
  });

  it('detects template text in its common forms but not in code or HTML comments', async () => {
    const placeholders = [
      'TBD.',
      'Explain your choice here.',
      'Write your answer here.',
      'Your text here.',
      '[fill in the number of replicas]',
      'Replicas: {{ replicas }}',
      'Coming soon.',
      'We measured it. Explain how the probes work.',
      '`TODO` in inline code is still text.',
    ];
    const notes = [
      '# T',
      '',
      '## Architecture',
      '',
      ...placeholders.flatMap((p) => [p, '']),
      '```',
      'TODO: inside code, not prose',
      '```',
      '',
      '<!-- TODO: a comment readers never see -->',
      '',
      'I will describe the autoscaler later; that phrase is ordinary prose.',
    ].join('\n');
    const outcome = await sections(notes, { sections: [{ title: 'Architecture', minWords: 0 }] });
    expect(outcome.findings.map((f) => f.location?.line)).toEqual([5, 7, 9, 11, 13, 15, 17, 19, 21]);
    expect(outcome.findings[4]!.message).toBe(
      "The 'Architecture' section still contains template text ('[fill in the number of replicas]'): replace it with your own notes.",
    );
    const custom = await sections(notes, {
      sections: [{ title: 'Architecture', minWords: 0 }],
      placeholders: ['coming soon'],
    });
    expect(custom.findings.map((f) => f.location?.line)).toEqual([17]);
  });
});
