import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { catalogOf } from '@labgrader/core';
import { DOCS_CHECKS, docsRegistry, docsSettingsSchema, docsStage } from '../src/index.js';

const CHECKS_DIR = fileURLToPath(new URL('../src/checks/', import.meta.url));
const HELPERS = new Set(['index.ts', 'shared.ts']);

describe('docs registry', () => {
  it('lists exactly one check per module in src/checks, named after its file', async () => {
    const files = readdirSync(CHECKS_DIR)
      .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
      .sort();
    const fromFiles: string[] = [];
    for (const file of files) {
      const mod = (await import(`../src/checks/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      const checks = Object.values(mod).filter(
        (v): v is { id: string; check: unknown } => typeof v === 'object' && v !== null && 'id' in v && 'check' in v,
      );
      expect(checks.map((c) => c.id)).toEqual([`docs/${file.replace(/\.ts$/, '')}`]);
      fromFiles.push(checks[0]!.id);
    }
    expect([...docsRegistry.ids()].sort()).toEqual(fromFiles.sort());
    expect(DOCS_CHECKS.length).toBe(files.length);
    expect(docsStage.registry).toBe(docsRegistry);
    expect(docsStage.name).toBe('docs');
  });

  it('every check has metadata, a Markdown fix hint, and options that parse {}', () => {
    for (const check of docsRegistry.list()) {
      expect(check.stage).toBe('docs');
      expect(check.title).toMatch(/\S/);
      expect(check.rationale).toMatch(/\S/);
      expect(check.fixHint).toMatch(/```/);
      expect(check.docsUrl).toMatch(/^https:\/\//);
      expect(() => check.options.parse({})).not.toThrow();
      // `labgrader checks` publishes the options as JSON Schema.
      expect(z.toJSONSchema(check.options, { io: 'input', unrepresentable: 'any' })).toHaveProperty('type', 'object');
    }
    expect(z.toJSONSchema(docsSettingsSchema, { io: 'input', unrepresentable: 'any' })).toHaveProperty(
      'type',
      'object',
    );
    expect(() => catalogOf(docsRegistry)).not.toThrow();
  });

  it('settings parse {} and the rubric shape, and reject typos', () => {
    expect(docsSettingsSchema.parse({})).toEqual({
      notes: {
        names: ['architecture-notes.md'],
        directories: ['.', 'docs'],
        caseVariants: 'report',
        otherLocations: 'report',
        maxBytes: 262144,
      },
      parsing: { timeoutMs: 8000, maxNestingDepth: 32, diagramTimeoutMs: 20000 },
      images: { maxCount: 50, maxBytes: 10485760, maxPixels: 16000000 },
      vocabulary: { languages: ['en', 'fr'], headings: {}, story: {}, placeholders: {} },
    });
    const rubric = docsSettingsSchema.parse({
      notes: { names: ['architecture-notes.md'], directories: ['.', 'docs'] },
    });
    expect(rubric.notes.caseVariants).toBe('report');
    expect(() => docsSettingsSchema.parse({ notes: { name: ['x.md'] } })).toThrow();
    expect(() => docsSettingsSchema.parse({ notes: { directories: ['../elsewhere'] } })).toThrow();
    expect(() => docsSettingsSchema.parse({ notes: { names: ['docs/notes.md'] } })).toThrow();
  });

  it('check options accept the rubric shapes', () => {
    const sections = docsRegistry.get('docs/required-sections')!.options.parse({
      sections: [
        { title: 'Architecture', patterns: ['architecture', 'overview'], minWords: 40 },
        { title: 'Rollback plan' },
      ],
    }) as { sections: { title: string; patterns: string[]; minWords: number }[] };
    expect(sections.sections).toEqual([
      // The title names the topic whose words (English and French) recognise the section; patterns add to them.
      { title: 'Architecture', topic: 'architecture', patterns: ['architecture', 'overview'], minWords: 40 },
      { title: 'Rollback plan', topic: 'rollback', patterns: [], minWords: 30 },
    ]);
    expect(() =>
      docsRegistry.get('docs/required-sections')!.options.parse({ sections: [{ title: 'x', patterns: ['('] }] }),
    ).toThrow();
    expect(() => docsRegistry.get('docs/diagram-embedded')!.options.parse({ remoteImages: 'maybe' })).toThrow();
    expect(() => docsRegistry.get('docs/manifest-consistency')!.options.parse({ uncheckedKinds: ['Pod'] })).toThrow();
  });
});
