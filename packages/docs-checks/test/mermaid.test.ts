/**
 * Mermaid blocks are checked by mermaid's own parser (the `mermaid` package,
 * in the parsing worker under linkedom): what it rejects is what GitHub
 * cannot render. These tests pin what the wrapper makes of its answers:
 * components from the diagram database, errors in words at the right line
 * of the block (front matter and comments are blanked, not removed), typo
 * suggestions, and a time budget after which blocks are "not checked".
 */
import { describe, expect, it } from '@jest/globals';
import { parseMermaidBlocks, prepareSource } from '../src/diagrams/mermaid.js';
import { prepare, run } from './helpers/grade.js';
import { memoryRepo } from './helpers/memory-repo.js';

const LIMITS = { timeoutMs: 30_000 };

describe('mermaid with its own parser', () => {
  it('reads the components of flowcharts, sequence, C4 and architecture diagrams', async () => {
    const [flow, sequence, c4, architecture, pie] = await parseMermaidBlocks(
      [
        'flowchart LR\n  user([Browser]) --> svc[Service web] --> dep["Deployment web (3 pods)"]\n  dep --> cm[(ConfigMap web-config)]',
        'sequenceDiagram\n  participant C as Client\n  C->>W: GET /\n  W-->>C: 200',
        'C4Container\n  Person(user, "User")\n  Container(web, "Web", "Go")\n  Rel(user, web, "uses")',
        'architecture-beta\n  service db(database)[Database]\n  service web(server)[Web]\n  db:L -- R:web',
        'pie\n  "a" : 1',
      ],
      LIMITS,
    );
    expect(flow).toMatchObject({ type: 'flowchart', validated: true, errors: [] });
    expect(flow!.components.map((c) => `${c.id}=${c.label}`)).toEqual([
      'user=Browser',
      'svc=Service web',
      'dep=Deployment web (3 pods)',
      'cm=ConfigMap web-config',
    ]);
    expect(sequence!.components.map((c) => `${c.id}=${c.label}`)).toEqual(['C=Client', 'W=W']);
    expect(c4!.components.map((c) => `${c.id}=${c.label}`)).toEqual(['user=User', 'web=Web']);
    expect(architecture!.components.map((c) => `${c.id}=${c.label}`)).toEqual(['db=Database', 'web=Web']);
    expect(pie).toMatchObject({ type: 'pie', validated: true, components: [] });
  });

  it('reports an error in words at its line of the block, front matter and comments included', async () => {
    const [error] = await parseMermaidBlocks(
      ['---\ntitle: Lab 85\n---\n%% the service\nflowchart LR\n  a[Web --> b\n  c --> d'],
      LIMITS,
    );
    expect(error!.errors).toEqual([
      {
        line: 6,
        message: "expected ']', ')))', ')', '])', found the end of the diagram after \"…Web --> b  c --> d\"",
      },
    ]);
    expect(prepareSource('---\ntitle: x\n---\n%% c\nflowchart LR').text).toBe('\n\n\n\nflowchart LR');
    const [unclosed] = await parseMermaidBlocks(['---\ntitle: x\nflowchart LR'], LIMITS);
    expect(unclosed!.errors).toEqual([{ line: 1, message: "the front matter opened with '---' is never closed" }]);
  });

  it('suggests the diagram type a typo meant', async () => {
    const [typo, unknown] = await parseMermaidBlocks(['flowchar LR\n  a --> b', 'archdiagram\n  a'], LIMITS);
    expect(typo!.errors).toEqual([
      { line: 1, message: "'flowchar' is not a Mermaid diagram type (did you mean 'flowchart'?)" },
    ]);
    expect(unknown!.errors).toEqual([{ line: 1, message: "'archdiagram' is not a Mermaid diagram type" }]);
  });

  it('marks the blocks "not checked" when mermaid runs out of time, and the check asks for a look', async () => {
    // 2,000 edges take mermaid far longer than 1 ms, even with the parser already loaded.
    const big = `flowchart LR\n${Array.from({ length: 2_000 }, (_, i) => `  n${i} --> n${i + 1}`).join('\n')}`;
    const [slow] = await parseMermaidBlocks([big], { timeoutMs: 1 });
    expect(slow).toMatchObject({
      validated: false,
      errors: [],
      unchecked: 'mermaid did not finish checking the diagrams within 1 ms',
    });
    const notes = `# N\n\n## Architecture\n\n\`\`\`mermaid\n${big}\n\`\`\`\n`;
    const context = await prepare(memoryRepo({ 'architecture-notes.md': notes }), {
      settings: { parsing: { diagramTimeoutMs: 1 } },
    });
    const outcome = await run(context, 'docs/diagram-embedded');
    expect([outcome.passed, outcome.examined, outcome.score]).toEqual([0, 1, 0.5]);
    expect(outcome.findings.map((f) => [f.severity, f.message, f.review])).toEqual([
      [
        'warning',
        'The mermaid block at line 5 could not be checked (mermaid did not finish checking the diagrams within 1 ms). Half credit until an instructor confirms it.',
        'check that the diagram renders and shows the architecture.',
      ],
    ]);
  });
});
