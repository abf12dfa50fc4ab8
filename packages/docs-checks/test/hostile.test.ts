/**
 * Hostile input: huge notes, pathological nesting, symlinks out of the
 * repository. Inputs are generated here, never committed. Nothing asserts on
 * time: bounded time comes from limits that are checked deterministically
 * (size and nesting refused before parsing) and from the parse timeout, which
 * is exercised with inputs that take minutes to parse.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { AbortedError, type RepoFiles } from '@labgrader/core';
import { openRepoFiles } from '@labgrader/repo';
import type { Root } from 'mdast';
import { parseMarkdown, scanNesting, treeDepth } from '../src/markdown/parse.js';
import { prepare, run, runAll } from './helpers/grade.js';
import { DIAGRAM_SVG } from './helpers/images.js';
import { memoryRepo } from './helpers/memory-repo.js';

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function tempRepo(files: Record<string, string | { symlink: string }>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'docs-hostile-'));
  temp.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    if (typeof content === 'string') writeFileSync(full, content);
    else symlinkSync(content.symlink, full);
  }
  return root;
}

/** Records every path whose content is read. */
function recording(repo: RepoFiles): RepoFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    root: repo.root,
    reads,
    list: () => repo.list(),
    stat: (p) => repo.stat(p),
    readBytes: (p, o) => {
      reads.push(p);
      return repo.readBytes(p, o);
    },
    readText: (p, o) => {
      reads.push(p);
      return repo.readText(p, o);
    },
  };
}

describe('hostile notes', () => {
  it('refuses a 20 MB notes file before reading it, and grades a zero', async () => {
    const root = tempRepo({
      'architecture-notes.md': `# Notes\n\n${'- a long list item with words\n'.repeat(700_000)}`,
    });
    const context = await prepare(await openRepoFiles(root));
    expect(context.notes).toMatchObject({ status: 'unreadable', problem: 'too-large' });
    const outcomes = await runAll(context);
    expect(outcomes['docs/notes-present']!.findings.map((f) => f.message)).toEqual([
      "The notes file architecture-notes.md could not be used: 'architecture-notes.md' is 20.0 MiB, over the 256.0 KiB limit.",
    ]);
    for (const outcome of Object.values(outcomes)) expect(outcome.passed).toBe(0);
  });

  it('refuses 10,000 levels of nested lists and blockquotes before parsing, at the line where it happens', async () => {
    const inline = `# Notes\n\nIntro.\n\n${'- '.repeat(10_000)}deep\n`;
    const quotes = `# Notes\n\n${'>'.repeat(10_000)} deep\n`;
    let indented = '# Notes\n\n';
    for (let i = 0; i < 300; i++) indented += `${'  '.repeat(i)}- level ${i}\n`;
    const expectations: [string, number][] = [
      [inline, 5],
      [quotes, 3],
      [indented, 3 + 32],
    ];
    for (const [text, line] of expectations) {
      const context = await prepare(memoryRepo({ 'architecture-notes.md': text }));
      expect(context.notes).toMatchObject({ status: 'unreadable', problem: 'too-deep', line });
      const finding = (await run(context, 'docs/notes-present')).findings[0]!;
      expect(finding.location).toEqual({ file: 'architecture-notes.md', line, column: 1 });
      expect(finding.message).toMatch(/nested about \d+ levels deep at line \d+ \(the limit is 32\)/);
    }
  });

  it('stops a parse that runs past its time budget, even when the nesting guard is lifted', async () => {
    const nested = `${'- '.repeat(10_000)}deep\n`;
    const emphasis = `${'*_'.repeat(16_000)}x${'_*'.repeat(16_000)}\n`;
    for (const text of [nested, emphasis]) {
      const outcome = await parseMarkdown(text, {
        timeoutMs: 300,
        maxNestingDepth: 1_000_000,
        maxTreeDepth: 200,
        maxHeapMb: 256,
      });
      expect(outcome).toEqual({
        ok: false,
        problem: 'timeout',
        message:
          'parsing did not finish within 300 ms (pathological Markdown such as deeply nested lists, blockquotes or emphasis)',
      });
    }
    // The stopped worker is replaced: the next parse works.
    const ok = await parseMarkdown('# Fine\n');
    expect(ok.ok && ok.tree.children[0]?.type).toBe('heading');
    const context = await prepare(memoryRepo({ 'architecture-notes.md': nested }), {
      settings: { parsing: { timeoutMs: 300, maxNestingDepth: 1_000_000 } },
    });
    expect(context.notes).toMatchObject({ status: 'unreadable', problem: 'timeout' });
  });

  it('aborts with the stage signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      prepare(memoryRepo({ 'architecture-notes.md': '# x\n' }), { signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
    const later = new AbortController();
    const pending = parseMarkdown(
      `${'- '.repeat(10_000)}x\n`,
      { timeoutMs: 60_000, maxNestingDepth: 1_000_000, maxTreeDepth: 200, maxHeapMb: 256 },
      later.signal,
    );
    later.abort(new Error('stage budget spent'));
    await expect(pending).rejects.toThrow('stage budget spent');
  });

  it('measures tree depth without recursion and ignores nesting inside fenced code', () => {
    const deep: { type: string; children: unknown[] } = { type: 'root', children: [] };
    let node = deep;
    for (let i = 0; i < 100_000; i++) {
      const child = { type: 'blockquote', children: [] };
      node.children.push(child);
      node = child;
    }
    expect(treeDepth(deep as unknown as Root, 200)).toBe(201);
    const yaml = `\`\`\`yaml\n${Array.from({ length: 60 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n')}\n\`\`\`\n`;
    expect(scanNesting(yaml, 32)).toBeUndefined();
    expect(scanNesting(`- a\n${'  '.repeat(40)}- b\n`, 32)).toEqual({ line: 2, depth: 41 });
  });
});

describe('hostile but small notes', () => {
  it('grades 200 KB of pathological inline syntax and diagram lines without quadratic blow-ups', async () => {
    const unit = 30;
    const pathological = [
      '# Notes',
      '',
      '## Architecture',
      '',
      '![a]['.repeat(2_000), // reference-image openers that never close
      '',
      '<img '.repeat(4_000), // HTML tags that never close
      '',
      '{{'.repeat(5_000) + ' [fill in'.repeat(2_000), // placeholder openers that never close
      '',
      '`' + 'kubectl '.repeat(5_000) + '`', // kubectl without a kind
      '',
      '```mermaid',
      'flowchart LR',
      `  ${'-a'.repeat(5_000)}`, // an over-long line
      ...Array.from({ length: unit }, () => `  ${'a@{ '.repeat(400)}`), // unclosed shape configs
      '```',
      '',
      '```plantuml',
      '@startuml',
      ...Array.from({ length: unit }, () => `${'-a'.repeat(900)}`),
      '@enduml',
      '```',
    ].join('\n');
    expect(pathological.length).toBeGreaterThan(150_000);
    const images = Array.from({ length: 80 }, (_, i) => `![d${i}](same.svg)`).join('\n');
    const repo = memoryRepo({ 'architecture-notes.md': `${pathological}\n\n${images}\n`, 'same.svg': DIAGRAM_SVG });
    const context = await prepare(repo);
    expect(context.notes.status).toBe('ok');
    const outcomes = await runAll(context);
    const diagram = outcomes['docs/diagram-embedded']!;
    expect(diagram.passed).toBe(1);
    expect(diagram.findings.filter((f) => f.severity === 'info').map((f) => f.message)).toEqual([
      expect.stringMatching(/^Only the first 50 images were checked; 30 more images from line \d+ on were not\.$/),
    ]);
    // A mermaid block this long is not handed to mermaid at all.
    expect(diagram.findings.map((f) => f.message)).toContain(
      'The mermaid diagram does not parse: the block is longer than 50000 characters (line 14).',
    );
    expect(diagram.findings.some((f) => f.review !== undefined)).toBe(false);
    // The same file embedded 50 times is read once.
    expect(repo.reads.filter((p) => p === 'same.svg')).toEqual(['same.svg']);
  });
});

describe('hostile images on a real filesystem', () => {
  it('never reads an image or notes file symlinked to /etc/passwd', async () => {
    const root = tempRepo({
      'architecture-notes.md':
        '# Notes\n\n## Architecture\n\n![a](docs/arch.png)\n\n![b](docs/inside.svg)\n\n![c](../../../../etc/passwd)\n',
      'docs/arch.png': { symlink: '/etc/passwd' },
      'docs/real.svg': DIAGRAM_SVG,
      'docs/inside.svg': { symlink: 'real.svg' },
    });
    const repo = recording(await openRepoFiles(root));
    const outcome = await run(await prepare(repo), 'docs/diagram-embedded');
    expect(outcome.findings.map((f) => `${f.location?.line} ${f.severity}: ${f.message}`)).toEqual([
      '5 warning: The image docs/arch.png (line 5) is a symbolic link to /etc/passwd outside the repository; it was not read.',
      "9 warning: The image '../../../../etc/passwd' (line 9) is a path that leads outside the repository, so it cannot be shown from the repository.",
    ]);
    expect(outcome.passed).toBe(1);
    expect(repo.reads).toEqual(['architecture-notes.md', 'docs/inside.svg']);

    const notesOut = tempRepo({ 'architecture-notes.md': { symlink: '/etc/passwd' } });
    const context = await prepare(recording(await openRepoFiles(notesOut)));
    expect(context.notes).toMatchObject({ status: 'unreadable', problem: 'symlink-outside' });
  });
});
