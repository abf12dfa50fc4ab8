/**
 * The fixtures, each a tiny lab repository under test/fixtures/,
 * read through the real filesystem RepoFiles and graded by every check with
 * its default options: exact findings (file:line severity, subject) and the
 * examined/passed counts that drive the points.
 */
import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome } from '@labgrader/core';
import { prepareFixture, runAll } from './helpers/grade.js';

type Expected = Record<string, { score: [number, number]; findings: string[] }>;

/** `file:line severity subject` of every finding. */
function summary(outcome: CheckOutcome): string[] {
  return outcome.findings.map((f) => `${f.location?.file}:${f.location?.line} ${f.severity} ${f.subject}`);
}

const FULL: Expected = {
  'docs/notes-present': { score: [1, 1], findings: [] },
  'docs/required-sections': { score: [6, 6], findings: [] },
  'docs/diagram-embedded': { score: [1, 1], findings: [] },
  'docs/failure-analysis': { score: [5, 5], findings: [] },
  'docs/manifest-consistency': { score: [4, 4], findings: [] },
};

async function grade(name: string): Promise<{ outcomes: Record<string, CheckOutcome>; actual: Expected }> {
  const outcomes = await runAll(await prepareFixture(name));
  const actual: Expected = {};
  for (const [id, o] of Object.entries(outcomes)) actual[id] = { score: [o.passed, o.examined], findings: summary(o) };
  return { outcomes, actual };
}

function message(outcomes: Record<string, CheckOutcome>, id: string, index = 0): string {
  return outcomes[id]!.findings[index]!.message;
}

describe('fixtures', () => {
  it('complete: full marks on every check, with evidence', async () => {
    const { outcomes, actual } = await grade('complete');
    expect(actual).toEqual(FULL);
    expect(outcomes['docs/diagram-embedded']!.evidence?.map((e) => e.detail)).toEqual([
      'docs/architecture.svg (SVG, 640×240, 8 drawing elements); names 3 objects of the manifests: Ingress web, Deployment web, Service web',
    ]);
    expect(outcomes['docs/failure-analysis']!.evidence?.map((e) => `${e.label}@${e.location?.line}`)).toEqual([
      'section@34',
      'performed@36',
      'observed@41',
      'recovery@54',
      'learned@59',
      'evidence@46',
    ]);
  });

  it('missing: a graded zero everywhere, with a clear hint, not a crash', async () => {
    const { outcomes, actual } = await grade('missing');
    const missing = ['architecture-notes.md:1 error notes'];
    expect(actual).toEqual({
      'docs/notes-present': { score: [0, 1], findings: missing },
      'docs/required-sections': { score: [0, 6], findings: missing },
      'docs/diagram-embedded': { score: [0, 1], findings: missing },
      'docs/failure-analysis': { score: [0, 5], findings: missing },
      'docs/manifest-consistency': { score: [0, 1], findings: missing },
    });
    expect(message(outcomes, 'docs/notes-present')).toBe(
      'No architecture notes found: expected architecture-notes.md or docs/architecture-notes.md.',
    );
    expect(message(outcomes, 'docs/required-sections')).toBe(
      'No notes file was found (expected architecture-notes.md or docs/architecture-notes.md), so the required sections could not be graded.',
    );
    expect(outcomes['docs/notes-present']!.findings[0]!.fixHint).toContain('architecture-notes.md');
  });

  it('headings only: every section is reported at its heading', async () => {
    const { outcomes, actual } = await grade('headings-only');
    expect(actual).toEqual({
      'docs/notes-present': { score: [1, 1], findings: [] },
      'docs/required-sections': {
        score: [0, 6],
        findings: [
          'architecture-notes.md:3 error Architecture',
          'architecture-notes.md:5 error Components',
          'architecture-notes.md:7 error Configuration and secrets',
          'architecture-notes.md:9 error Resource limits and probes',
          'architecture-notes.md:11 error Controlled failure analysis',
          'architecture-notes.md:13 error Rollback plan',
        ],
      },
      'docs/diagram-embedded': { score: [0, 1], findings: ['architecture-notes.md:3 error diagram'] },
      'docs/failure-analysis': {
        score: [0, 5],
        findings: [
          'architecture-notes.md:11 error performed',
          'architecture-notes.md:11 error observed',
          'architecture-notes.md:11 error recovery',
          'architecture-notes.md:11 error learned',
          'architecture-notes.md:11 error evidence',
        ],
      },
      'docs/manifest-consistency': { score: [0, 1], findings: ['architecture-notes.md:5 error Deployment/web'] },
    });
    expect(message(outcomes, 'docs/required-sections')).toBe(
      "The 'Architecture' section is only a heading: write at least 40 words of your own.",
    );
  });

  it('placeholder text: template lines are reported where they are, and the sections fail', async () => {
    const { outcomes, actual } = await grade('placeholder');
    expect(actual).toEqual({
      ...FULL,
      'docs/required-sections': {
        score: [4, 6],
        findings: [
          'architecture-notes.md:29 error Resource limits and probes',
          'architecture-notes.md:27 error Resource limits and probes',
          'architecture-notes.md:65 error Rollback plan',
          'architecture-notes.md:67 error Rollback plan',
          'architecture-notes.md:63 error Rollback plan',
        ],
      },
    });
    const messages = outcomes['docs/required-sections']!.findings.map((f) => f.message);
    expect(messages).toEqual([
      "The 'Resource limits and probes' section still contains template text ('Describe your'): replace it with your own notes.",
      "The 'Resource limits and probes' section has 25 words of prose; write at least 30.",
      "The 'Rollback plan' section still contains template text ('TODO', 'Describe your', 'Lorem ipsum'): replace it with your own notes.",
      "The 'Rollback plan' section still contains template text ('<fill in>'): replace it with your own notes.",
      // What is left once the template text is removed is lorem ipsum: filler, not 26 words of notes.
      "The 'Rollback plan' section is filler, not notes: its text is lorem ipsum (42% of its words). Write what you built and why, in your own words.",
    ]);
  });

  it('image path that does not exist', async () => {
    const { outcomes, actual } = await grade('image-missing');
    expect(actual).toEqual({
      ...FULL,
      'docs/diagram-embedded': { score: [0, 1], findings: ['architecture-notes.md:11 error diagram'] },
    });
    expect(message(outcomes, 'docs/diagram-embedded')).toBe(
      'The image docs/architecture.png (line 11) does not exist in the repository.',
    );
  });

  it('a .png that is not a PNG', async () => {
    const { outcomes, actual } = await grade('not-a-png');
    expect(actual).toEqual({
      ...FULL,
      'docs/diagram-embedded': { score: [0, 1], findings: ['architecture-notes.md:11 error diagram'] },
    });
    expect(message(outcomes, 'docs/diagram-embedded')).toBe(
      'The image docs/architecture.png (line 11) is not a PNG, JPEG, GIF, WebP or SVG image: its bytes are an HTML page (often a saved GitHub page instead of the raw image).',
    );
  });

  it('remote image: rejected by default, cannot be checked offline', async () => {
    const { outcomes, actual } = await grade('remote-image');
    expect(actual).toEqual({
      ...FULL,
      'docs/diagram-embedded': { score: [0, 1], findings: ['architecture-notes.md:11 error diagram'] },
    });
    expect(message(outcomes, 'docs/diagram-embedded')).toBe(
      'The image at line 11 is remote (i.imgur.com) and cannot be checked offline; it does not count as the diagram: commit the image to the repository.',
    );
  });

  it('mermaid block that does not parse: the error at its line in the notes', async () => {
    const { outcomes, actual } = await grade('bad-mermaid');
    expect(actual).toEqual({
      ...FULL,
      'docs/diagram-embedded': {
        score: [0, 1],
        findings: ['architecture-notes.md:13 error diagram'],
      },
    });
    expect(outcomes['docs/diagram-embedded']!.findings.map((f) => f.message)).toEqual([
      // mermaid's own parser stops at the first error: the label opened with '[' on line 13 is never closed.
      "The mermaid diagram does not parse: expected ']', ')))', ')', '])', found '[' after \"…ss web  ing --> svc[Service web] -->\" (line 13).",
    ]);
  });

  it('linked but not embedded diagram', async () => {
    const { outcomes, actual } = await grade('linked-diagram');
    expect(actual).toEqual({
      ...FULL,
      'docs/diagram-embedded': { score: [0, 1], findings: ['architecture-notes.md:11 error diagram'] },
    });
    expect(message(outcomes, 'docs/diagram-embedded')).toBe(
      'Line 11 links to the image docs/architecture.png instead of embedding it: write ![docs/architecture.png](docs/architecture.png) so it shows in the notes.',
    );
  });

  it('notes that name a Service the manifests lack', async () => {
    const { outcomes, actual } = await grade('unknown-service');
    expect(actual).toEqual({
      ...FULL,
      'docs/manifest-consistency': { score: [4, 5], findings: ['architecture-notes.md:16 error Service/web-svc'] },
    });
    expect(message(outcomes, 'docs/manifest-consistency')).toBe(
      "The notes name Service 'web-svc' (line 16), but no Service of that name is in the manifests (Service objects in the manifests: web).",
    );
  });

  it('every finding carries a file, a line, a fix hint and a docs URL', async () => {
    for (const name of ['missing', 'headings-only', 'placeholder', 'bad-mermaid', 'unknown-service']) {
      const { outcomes } = await grade(name);
      for (const outcome of Object.values(outcomes)) {
        for (const f of outcome.findings) {
          expect(f.location?.file).toMatch(/\S/);
          expect(f.location?.line).toBeGreaterThanOrEqual(1);
          expect(f.fixHint).toMatch(/\S/);
          expect(f.docsUrl).toMatch(/^https:\/\//);
        }
      }
    }
  });
});
