import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome } from '@labgrader/core';
import { topicOfTitle } from '../src/checks/required-sections.js';
import { Lexicon } from '../src/language/lexicon.js';
import type { Topic } from '../src/language/vocabulary.js';
import { buildDocument, normalizeHeading, type NotesDocument } from '../src/markdown/document.js';
import { explainSelection, selectSection } from '../src/markdown/sections.js';
import { vocabularySettingsSchema } from '../src/settings.js';
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
  const lexicon = new Lexicon(vocabularySettingsSchema.parse({}));
  const pick = (d: NotesDocument, topic: Topic, patterns: string[] = []) =>
    selectSection(d, lexicon, { topic, patterns }).chosen?.heading;

  it('normalises headings: case, accents, punctuation, emoji and leading numbering', () => {
    expect(normalizeHeading('3.2) Configuration & Secrets 🔐')).toBe('configuration secrets');
    expect(normalizeHeading('Roll-back plan')).toBe('roll back plan');
    expect(normalizeHeading('1. 2. Overview')).toBe('overview');
    expect(normalizeHeading('II. Plan de retour arrière')).toBe('plan de retour arriere');
    expect(normalizeHeading("Diagramme d'architecture")).toBe('diagramme d architecture');
  });

  it('treats a single leading H1 as the title, never as a section', async () => {
    const d = await doc('# Architecture notes for lab 85\n\nIntro.\n\n## Components\n\nText.\n');
    expect(d.title?.text).toBe('Architecture notes for lab 85');
    expect(pick(d, 'architecture')).toBeUndefined();
    const flat = await doc('# Architecture\n\nText.\n\n# Components\n\nText.\n');
    expect(flat.title).toBeUndefined();
    expect(pick(flat, 'architecture')?.line).toBe(1);
  });

  it('takes the title for a section when the topic follows a separator and a paragraph follows the title', async () => {
    // The lead of a real submission (exp-labotrack): 38 words under '# LaboTrack — Architecture'.
    const lead =
      'LaboTrack is a miniature Laboratory Information System (LIS) that simulates the lifecycle of a biological sample inside a clinical analysis lab — registration → analysis → validation → restitution — through 3 cooperating microservices deployed on Kubernetes (Minikube) under a Linkerd service mesh.';
    const notes = `# LaboTrack — Architecture\n\n${lead}\n\n## Component diagram\n\n${words(30)}\n`;
    const outcome = await sections(notes, { sections: [{ title: 'Architecture', minWords: 30 }] });
    expect(lines(outcome)).toEqual([]);
    expect(outcome.evidence?.map((e) => e.detail)).toEqual([
      "graded 'LaboTrack — Architecture' (line 1): its heading names it; 38 words",
    ]);
    expect(lines(await sections(notes, { sections: [{ title: 'Architecture', minWords: 40 }] }))).toEqual([
      "1 Architecture: The 'Architecture' ('LaboTrack — Architecture') section has 38 words of prose; write at least 40.",
    ]);
    for (const title of [
      'LaboTrack – Architecture',
      'LaboTrack - architecture',
      'LaboTrack: Architecture',
      'LaboTrack | Architecture',
      'LaboTrack—Architecture',
      'TP Kubernetes — Vue d’ensemble',
    ]) {
      const d = await doc(`# ${title}\n\n${lead}\n\n## Component diagram\n\n${words(30)}\n`);
      expect([title, pick(d, 'architecture')?.line]).toEqual([title, 1]);
    }
    // Not a title without a separator, nor one whose topic is before it, nor one that names another topic.
    for (const title of ['Architecture notes', 'Architecture notes — LaboTrack', 'Lab 85 — Notes', 'Post-mortem lab']) {
      const d = await doc(`# ${title}\n\n${lead}\n\n## Other\n\n${words(30)}\n`);
      expect([title, pick(d, 'architecture'), pick(d, 'failure')]).toEqual([title, undefined, undefined]);
    }
    // Only the topic after the separator counts: the title is not every section.
    const d = await doc(`# LaboTrack — Architecture\n\n${lead}\n\n## Other\n\n${words(30)}\n`);
    const topics: Topic[] = ['components', 'configuration', 'resources', 'failure', 'rollback'];
    expect(topics.map((t) => pick(d, t))).toEqual(topics.map(() => undefined));
    // Not without a paragraph under the title itself: the sections below are not its words.
    for (const under of ['', 'LaboTrack, a small lab system on Kubernetes.']) {
      const bare = await doc(`# LaboTrack — Architecture\n\n${under}\n\n## Components\n\n${words(80)}\n`);
      expect([under, pick(bare, 'architecture')]).toEqual([under, undefined]);
    }
    expect(lines(await sections(`# LaboTrack — Architecture\n\n## Components\n\n${words(80)}\n`, {}))).toContain(
      "1 Architecture: The notes have no 'Architecture' section (no heading about architecture (en, fr)).",
    );
    // A section of that name still beats the title.
    const both = await doc(`# LaboTrack — Architecture\n\n${lead}\n\n## Architecture\n\n${words(45)}\n`);
    expect(pick(both, 'architecture')?.line).toBe(5);
  });

  it('matches whole words only: "fault" is not in "default", a rubric pattern must start a word', async () => {
    const d = await doc('# T\n\n## Is a Secret encrypted by default?\n\nNo.\n\n## Configuration\n\nText.\n');
    expect(pick(d, 'failure')).toBeUndefined();
    expect(pick(d, 'failure', ['fault'])).toBeUndefined();
    expect(pick(d, 'configuration', ['config'])?.text).toBe('Configuration');
  });

  it('prefers the section that is about the topic and has content over the first heading that mentions it', async () => {
    const d = await doc(
      `# T\n\n## Architecture diagram\n\n${words(10, 'picture')}\n\n## Architecture\n\n${words(300, 'prose')}\n`,
    );
    const selection = selectSection(d, lexicon, { topic: 'architecture' });
    expect(selection.chosen?.heading.text).toBe('Architecture');
    expect(explainSelection(selection)).toBe(
      "graded 'Architecture' (line 7): its heading names it; 300 words; over 'Architecture diagram' (line 3, 10 words, score 4.0 < 6.0)",
    );
  });

  it('does not take a question for a section title', async () => {
    const d = await doc(
      `# T\n\n## What would happen if the node failed?\n\n${words(40)}\n\n## Failure drill\n\n${words(40)}\n`,
    );
    expect(pick(d, 'failure')?.text).toBe('Failure drill');
  });

  it('recognises French headings, and setext headings', async () => {
    const d = await doc('# T\n\n## Analyse de panne\n\nx\n\n## Plan de retour arrière\n\ny\n\n## Composants\n\nz\n');
    expect(pick(d, 'failure')?.text).toBe('Analyse de panne');
    expect(pick(d, 'rollback')?.text).toBe('Plan de retour arrière');
    expect(pick(d, 'components')?.text).toBe('Composants');
    const setext = await doc('Title\n=====\n\nRollback\n--------\n\nText\n');
    expect(pick(setext, 'rollback')?.line).toBe(4);
  });

  it('lets a rubric add a language', async () => {
    const german = new Lexicon(
      vocabularySettingsSchema.parse({
        languages: ['en', 'fr', 'de'],
        headings: { failure: { de: ['ausfall\\p{L}*'] } },
      }),
    );
    const d = await doc('# T\n\n## Ausfallanalyse\n\nText.\n');
    expect(selectSection(d, german, { topic: 'failure' }).chosen?.heading.text).toBe('Ausfallanalyse');
    expect(pick(d, 'failure')).toBeUndefined();
  });

  it('infers the topic of a rubric section from its title', () => {
    expect(topicOfTitle('Controlled failure analysis')).toBe('failure');
    expect(topicOfTitle('Resource limits and probes')).toBe('resources');
    expect(topicOfTitle('Configuration and secrets')).toBe('configuration');
    expect(topicOfTitle('Rollback plan')).toBe('rollback');
    expect(topicOfTitle('Game day')).toBeUndefined();
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
      "1 Rollback plan: The notes have no 'Rollback plan' section (no heading about rollback (en, fr) or matching /roll ?back/, /revert/).",
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
    // A rubric's placeholders add to the built-in ones (English and French).
    const custom = await sections(notes, {
      sections: [{ title: 'Architecture', minWords: 0 }],
      placeholders: ['\\bdescribe the autoscaler later\\b'],
    });
    expect(custom.findings.map((f) => f.location?.line)).toEqual([5, 7, 9, 11, 13, 15, 17, 19, 21, 29]);
    const french = await sections(
      `# T\n\n## Architecture\n\nÀ compléter.\n\nDécrivez ici votre architecture.\n\n<à remplir>\n\nLe Deployment \`web\` tourne à côté de la base.\n`,
      { sections: [{ title: 'Architecture', minWords: 0 }] },
    );
    expect(french.findings.map((f) => f.message)).toEqual([
      "The 'Architecture' section still contains template text ('À compléter'): replace it with your own notes.",
      "The 'Architecture' section still contains template text ('Décrivez ici'): replace it with your own notes.",
      "The 'Architecture' section still contains template text ('<à remplir>'): replace it with your own notes.",
    ]);
  });
});
