/**
 * The unfair docs grades seen on real Lab 85 submissions, one synthetic lab
 * of each shape (packages/docs-checks/test/fixtures/classes/), graded through
 * the CLI with rubrics/lab-85.yaml and --cluster none: the fair points, the
 * exact messages, which section was graded and why, and where the grader is
 * unsure, the "needs an instructor's look" mark in every format.
 *
 * The docs criteria (40 points): architecture-notes 10, architecture-diagram
 * 10, failure-analysis 15, notes-match-manifests 5. The manifests are the
 * passing example's (plus a PostgreSQL workload where the shape needs one).
 */
import { describe, expect, it } from '@jest/globals';
import type { Report } from '@labgrader/core';
import { runCli } from './support/cli.js';

const DIR = 'packages/docs-checks/test/fixtures/classes';

async function grade(name: string, format = 'json'): Promise<{ code: number; stdout: string }> {
  const { code, stdout, stderr } = await runCli([
    'grade',
    `${DIR}/${name}`,
    '--cluster',
    'none',
    '--format',
    format,
    '--no-progress',
  ]);
  if (!stdout) throw new Error(stderr);
  return { code, stdout };
}

async function report(name: string): Promise<Report> {
  return JSON.parse((await grade(name)).stdout) as Report;
}

const DOCS = ['architecture-notes', 'architecture-diagram', 'failure-analysis', 'notes-match-manifests'];
const docsPoints = (r: Report) =>
  Object.fromEntries(r.criteria.filter((c) => DOCS.includes(c.id)).map((c) => [c.id, c.points]));
const FULL = {
  'architecture-notes': 10,
  'architecture-diagram': 10,
  'failure-analysis': 15,
  'notes-match-manifests': 5,
};
const docsFindings = (r: Report) =>
  r.findings
    .filter((f) => f.checkId.startsWith('docs/'))
    .map(
      (f) => `${f.checkId} ${f.severity} ${f.location?.line}: ${f.message}${f.review ? ` [review: ${f.review}]` : ''}`,
    );
const evidence = (r: Report, checkId: string, label: string) =>
  r.evidence.find((e) => e.checkId === checkId && e.label === label)?.detail;

describe('docs grading is fair to the shapes seen in real submissions', () => {
  it('a "default" in a heading is not a failure analysis: the real one is graded, full marks', async () => {
    const r = await report('default-heading');
    expect(docsPoints(r)).toEqual(FULL);
    expect(docsFindings(r)).toEqual([]);
    expect(evidence(r, 'docs/failure-analysis', 'section')).toMatch(
      /^graded 'Controlled failure analysis' \(line 58\): its heading names it; 228 words; 5 kubectl commands, kubectl output \(pods\)/,
    );
  });

  it('the real analysis under an unknown heading beats a hypothetical heading, and is marked for a look', async () => {
    const r = await report('hypothetical-and-unnamed');
    expect(docsPoints(r)).toEqual(FULL);
    expect(evidence(r, 'docs/failure-analysis', 'section')).toBe(
      "graded 'Required Break and Analysis' (line 58): its heading does not name it; 228 words; 5 kubectl commands, kubectl output (pods), Killing, SuccessfulCreate, ImagePullBackOff, timings, 4 of the 4 parts of a failure story; over 'What would happen if the node failed?' (line 52, a question, 51 words, score 1.5 < 10.0)",
    );
    expect(docsFindings(r)).toEqual([
      "docs/failure-analysis info 58: The controlled failure analysis was taken to be 'Required Break and Analysis' (line 58) because of its content; its heading does not say so. [review: the failure analysis was recognised by its content (5 kubectl commands, kubectl output (pods), Killing, SuccessfulCreate, ImagePullBackOff, timings, 4 of the 4 parts of a failure story) under the heading 'Required Break and Analysis', which does not name it: check that this is the section meant.]",
      "docs/required-sections info 58: The 'Controlled failure analysis' section was taken to be 'Required Break and Analysis' (line 58) because of its content; its heading does not say so. [review: the 'Controlled failure analysis' section was recognised by its content (5 kubectl commands, kubectl output (pods), Killing, SuccessfulCreate, ImagePullBackOff, timings, 4 of the 4 parts of a failure story) under the heading 'Required Break and Analysis', which does not name it: check that this is the section meant.]",
    ]);
  });

  it("shows the instructor's look in the text and Markdown reports", async () => {
    const text = (await grade('hypothetical-and-unnamed', 'text')).stdout;
    expect(text).toContain('Findings (2 infos)  2 need an instructor’s look');
    expect(text).toContain(
      '      needs an instructor’s look: the failure analysis was recognised by its content (5 kubectl commands',
    );
    const markdown = (await grade('hypothetical-and-unnamed', 'markdown')).stdout;
    expect(markdown).toContain(
      '> [!NOTE]\n> 2 findings need an instructor’s look: the grader was not sure (marked 👀 below).',
    );
    expect(markdown).toContain(
      '  - 👀 **Needs an instructor’s look:** the failure analysis was recognised by its content',
    );
  });

  it('required-sections and failure-analysis grade the same failure section', async () => {
    for (const name of [
      'default-heading',
      'hypothetical-and-unnamed',
      'short-heading-long-section',
      'french',
      'gaming',
    ]) {
      const r = await report(name);
      const fromSections = evidence(r, 'docs/required-sections', 'Controlled failure analysis');
      const fromAnalysis = evidence(r, 'docs/failure-analysis', 'section');
      expect(fromSections).toBeDefined();
      expect(fromSections).toBe(fromAnalysis);
    }
  });

  it('a 10-word "Architecture diagram" heading does not hide the architecture section below it', async () => {
    const r = await report('short-heading-long-section');
    expect(docsPoints(r)).toEqual(FULL);
    expect(evidence(r, 'docs/required-sections', 'Architecture')).toBe(
      "graded 'Architecture' (line 9): its heading names it; 66 words; over 'Architecture diagram' (line 3, 11 words, score 4.1 < 5.8)",
    );
  });

  it('notes in French earn full marks', async () => {
    const r = await report('french');
    expect(docsPoints(r)).toEqual(FULL);
    expect(docsFindings(r)).toEqual([]);
    expect(evidence(r, 'docs/failure-analysis', 'section')).toMatch(/^graded 'Analyse de panne' \(line 42\)/);
    expect(evidence(r, 'docs/required-sections', 'Rollback plan')).toMatch(
      /^graded 'Plan de retour arrière' \(line 77\)/,
    );
    expect(evidence(r, 'docs/failure-analysis', 'observed')).toBe("found by sub-heading 'Ce que j'ai observé'");
    expect(evidence(r, 'docs/failure-analysis', 'learned')).toBe("found by label 'Ce que j'ai appris'");
  });

  it('filler notes, a made-up kubectl block and a flat PNG score low, with the reasons', async () => {
    const r = await report('gaming');
    expect(docsPoints(r)).toEqual({
      // notes-present 1/1 (w1), required-sections 0/6 (w3): every section is filler
      'architecture-notes': 2.5,
      'architecture-diagram': 0,
      'failure-analysis': 0,
      'notes-match-manifests': 0,
    });
    const found = docsFindings(r);
    expect(found).toContain(
      'docs/diagram-embedded error 3: The image docs/architecture.png (line 3) is a single flat colour (#336699 on 100% of its pixels): it shows no diagram.',
    );
    expect(found).toContain(
      "docs/required-sections error 5: The 'Architecture' section is filler, not notes: its text repeats the same few words (1 different word in 60). Write what you built and why, in your own words.",
    );
    expect(found).toContain(
      "docs/required-sections error 9: The 'Components' section is filler, not notes: its text repeats the same few words (10 different words in 88). Write what you built and why, in your own words.",
    );
    expect(found).toContain(
      "docs/failure-analysis error 25: The kubectl output in the controlled failure analysis (line 25) is not real kubectl output: the pods table at line 27 row 1 has 3 columns where the header has 5; READY 'yes' in row 2 is not what kubectl prints there; RESTARTS 'ok' in row 2 is not what kubectl prints there. Paste what kubectl printed.",
    );
    expect(found).toContain(
      "docs/failure-analysis error 21: The controlled failure analysis ('Controlled failure analysis') does not say which failure was performed and how (its prose is filler: it repeats the same few words (11 different words in 148)): add a sub-heading or a labelled paragraph for it.",
    );
  });

  it('PostgreSQL and "the Postgres database" name the StatefulSet postgres', async () => {
    const r = await report('postgres-alias');
    expect(docsPoints(r)).toEqual(FULL);
    expect(docsFindings(r)).toEqual([]);
    expect(evidence(r, 'docs/manifest-consistency', 'inventory')).toBe(
      "10 objects in the manifests, 2 main workloads; the notes name Deployment web as 'web' (line 3), StatefulSet postgres as 'postgresql' (line 29)",
    );
  });

  it('notes that say StatefulSet where the manifests have a Deployment are contradicted', async () => {
    const r = await report('kind-contradiction');
    // 8 subjects (the objects the notes name in code and the two workloads), Deployment/postgres fails → 5 × 7/8
    expect(docsPoints(r)).toEqual({ ...FULL, 'notes-match-manifests': 4.38 });
    expect(docsFindings(r)).toEqual([
      "docs/manifest-consistency error 30: The notes say PostgreSQL is a StatefulSet (line 30), but the manifests define 'postgres' as a Deployment (k8s/postgres.yaml:1): make the notes and the manifests agree.",
    ]);
  });

  it('a repository with neither notes nor manifests earns no docs points, not "Notes match the manifests 5/5"', async () => {
    const { code, stdout } = await grade('nothing');
    const r = JSON.parse(stdout) as Report;
    expect(code).toBe(3);
    expect(r.status).toBe('not-gradable');
    expect(docsPoints(r)).toEqual({
      'architecture-notes': 0,
      'architecture-diagram': 0,
      'failure-analysis': 0,
      'notes-match-manifests': 0,
    });
    expect(r.criteria.find((c) => c.id === 'notes-match-manifests')?.status).toBe('failed');
    expect(docsFindings(r)).toContain(
      'docs/manifest-consistency error 1: No notes file was found (expected architecture-notes.md or docs/architecture-notes.md), so their consistency with the manifests could not be graded.',
    );
  });
});
