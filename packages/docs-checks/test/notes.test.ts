import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome } from '@labgrader/core';
import { prepare, run } from './helpers/grade.js';
import { memoryRepo, type MemoryFile } from './helpers/memory-repo.js';

const NOTES = '# Notes\n\n## Architecture\n\nSome words about the system.\n';

async function present(
  files: Record<string, MemoryFile>,
  settings: unknown = {},
): Promise<{ outcome: CheckOutcome; status: string; path: string | undefined; sections: CheckOutcome }> {
  const context = await prepare(memoryRepo(files), { settings });
  const outcome = await run(context, 'docs/notes-present');
  const sections = await run(context, 'docs/required-sections', { sections: [{ title: 'Architecture', minWords: 3 }] });
  return {
    outcome,
    status: context.notes.status,
    path: context.notes.status === 'missing' ? undefined : context.notes.candidate.path,
    sections,
  };
}

const lines = (o: CheckOutcome): string[] =>
  o.findings.map((f) => `${f.location?.file}:${f.location?.line} ${f.severity}: ${f.message}`);

describe('docs/notes-present: where the notes are', () => {
  it('accepts the exact name at the root or in docs/, preferring the root', async () => {
    const root = await present({ 'architecture-notes.md': NOTES, 'docs/architecture-notes.md': NOTES });
    expect([root.path, root.outcome.passed]).toEqual(['architecture-notes.md', 1]);
    expect(lines(root.outcome)).toEqual([
      'docs/architecture-notes.md:1 info: docs/architecture-notes.md is also a notes file; only architecture-notes.md was graded.',
    ]);
    const docs = await present({ 'docs/architecture-notes.md': NOTES });
    expect([docs.path, docs.outcome.passed, lines(docs.outcome)]).toEqual(['docs/architecture-notes.md', 1, []]);
    expect(docs.outcome.evidence?.[0]?.detail).toBe('docs/architecture-notes.md (55 B, 7 words, 2 headings)');
  });

  it('reports a case variant by default but still grades its content', async () => {
    const r = await present({ 'Architecture-Notes.md': NOTES });
    expect([r.status, r.path, r.outcome.passed, r.sections.passed]).toEqual(['ok', 'Architecture-Notes.md', 0, 1]);
    expect(lines(r.outcome)).toEqual([
      'Architecture-Notes.md:1 error: The notes were found at Architecture-Notes.md, whose name differs from architecture-notes.md or docs/architecture-notes.md only in letter case: rename or move the file to architecture-notes.md (its content is still graded).',
    ]);
    const dir = await present({ 'Docs/architecture-notes.md': NOTES });
    expect([dir.path, dir.outcome.passed]).toEqual(['Docs/architecture-notes.md', 0]);
  });

  it('follows the rubric: accept silently, or reject (the notes count as missing)', async () => {
    const accepted = await present({ 'ARCHITECTURE-NOTES.md': NOTES }, { notes: { caseVariants: 'accept' } });
    expect([accepted.outcome.passed, lines(accepted.outcome)]).toEqual([1, []]);
    expect(accepted.outcome.evidence?.[0]?.detail).toBe('ARCHITECTURE-NOTES.md accepted by the rubric (case-variant)');
    const rejected = await present({ 'ARCHITECTURE-NOTES.md': NOTES }, { notes: { caseVariants: 'reject' } });
    expect([rejected.status, rejected.outcome.passed, rejected.sections.passed]).toEqual(['missing', 0, 0]);
    expect(lines(rejected.outcome)).toEqual([
      'ARCHITECTURE-NOTES.md:1 error: Found ARCHITECTURE-NOTES.md, whose name differs from architecture-notes.md or docs/architecture-notes.md only in letter case; the rubric does not accept it, so the notes count as missing: rename or move it to architecture-notes.md.',
    ]);
  });

  it('reports notes in another directory, and ignores dependency folders', async () => {
    const r = await present({ 'notes/architecture-notes.md': NOTES, 'node_modules/x/architecture-notes.md': NOTES });
    expect([r.path, r.outcome.passed]).toEqual(['notes/architecture-notes.md', 0]);
    expect(lines(r.outcome)).toEqual([
      'notes/architecture-notes.md:1 error: The notes were found at notes/architecture-notes.md, outside the accepted locations (architecture-notes.md or docs/architecture-notes.md): rename or move the file to architecture-notes.md (its content is still graded).',
    ]);
    const custom = await present(
      { 'documentation/ARCHITECTURE.md': NOTES },
      { notes: { names: ['ARCHITECTURE.md', 'architecture-notes.md'], directories: ['documentation'] } },
    );
    expect([custom.path, custom.outcome.passed]).toEqual(['documentation/ARCHITECTURE.md', 1]);
    const onlyDeps = await present({ 'node_modules/x/architecture-notes.md': NOTES });
    expect(onlyDeps.status).toBe('missing');
  });

  it('reports notes that cannot be read, without reading through symlinks out of the repo', async () => {
    const outside = await present({ 'architecture-notes.md': { symlinkOutside: '/etc/passwd' } });
    expect([outside.status, outside.outcome.passed]).toEqual(['unreadable', 0]);
    expect(lines(outside.outcome)).toEqual([
      "architecture-notes.md:1 error: The notes file architecture-notes.md could not be used: 'architecture-notes.md' is a symlink to '/etc/passwd', outside the repository; it is never read.",
    ]);
    expect(outside.outcome.findings[0]?.fixHint).toBe(
      'Commit the notes file itself, not a symbolic link to a file outside the repository.',
    );
    expect(lines(outside.sections)).toEqual([
      "architecture-notes.md:1 error: architecture-notes.md could not be used ('architecture-notes.md' is a symlink to '/etc/passwd', outside the repository; it is never read), so the required sections could not be graded.",
    ]);
    const latin1 = await present({ 'architecture-notes.md': new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]) });
    expect(lines(latin1.outcome)).toEqual([
      "architecture-notes.md:1 error: The notes file architecture-notes.md could not be used: 'architecture-notes.md' is not valid UTF-8 text.",
    ]);
  });

  it('reports an empty file', async () => {
    const r = await present({ 'architecture-notes.md': '\n\n<!-- nothing -->\n' });
    expect([r.outcome.passed, lines(r.outcome)]).toEqual([
      0,
      ['architecture-notes.md:1 error: architecture-notes.md is empty.'],
    ]);
    const short = await present({ 'architecture-notes.md': '# Notes\n\nTBD\n' }, {});
    expect(short.outcome.passed).toBe(1);
    const context = await prepare(memoryRepo({ 'architecture-notes.md': '# Notes\n\nTBD\n' }));
    expect(lines(await run(context, 'docs/notes-present', { minWords: 50 }))).toEqual([
      'architecture-notes.md:1 error: architecture-notes.md has only 2 words; write your notes in it (at least 50).',
    ]);
  });
});
