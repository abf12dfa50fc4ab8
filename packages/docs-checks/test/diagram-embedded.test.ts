import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome, KubeObjectRef } from '@labgrader/core';
import { prepare, run } from './helpers/grade.js';
import { DIAGRAM_SVG, gif, jpeg, png, webp } from './helpers/images.js';
import { memoryRepo, type MemoryFile, type MemoryRepo } from './helpers/memory-repo.js';

async function diagram(
  notes: string,
  files: Record<string, MemoryFile> = {},
  options: unknown = {},
  notesPath = 'architecture-notes.md',
): Promise<CheckOutcome & { repo: MemoryRepo }> {
  const repo = memoryRepo({ [notesPath]: notes, ...files });
  const outcome = await run(await prepare(repo), 'docs/diagram-embedded', options);
  return { ...outcome, repo };
}

/** A diagram graded with these manifests' objects. */
async function diagramWith(notes: string, objects: [kind: string, name: string][]): Promise<CheckOutcome> {
  const refs: KubeObjectRef[] = objects.map(([kind, name], i) => ({
    apiVersion: 'v1',
    kind,
    name,
    namespace: 'labotrack',
    location: { file: 'manifests/all.yaml', line: i + 1, column: 1 },
  }));
  const repo = memoryRepo({ 'architecture-notes.md': notes });
  return run(
    await prepare(repo, { inventory: { objects: refs, files: ['manifests/all.yaml'] } }),
    'docs/diagram-embedded',
  );
}

const lines = (o: CheckOutcome): string[] => o.findings.map((f) => `${f.location?.line} ${f.severity}: ${f.message}`);

describe('docs/diagram-embedded: images', () => {
  it('accepts every supported format, inline, reference-style and HTML, relative to the notes', async () => {
    const notes = [
      '# Notes',
      '',
      '## Architecture',
      '',
      '![png](img/a.png) ![gif](img/a.gif)',
      '',
      '<p align="center"><img alt="jpeg" src="img/a.jpg" width="600"></p>',
      '',
      '![webp][w] ![svg](<../shared/my diagram.svg> "title")',
      '',
      '[w]: ./img/a.webp',
    ].join('\n');
    const outcome = await diagram(
      notes,
      {
        'docs/img/a.png': png(300, 200),
        'docs/img/a.gif': gif(300, 200),
        'docs/img/a.jpg': jpeg(300, 200),
        'docs/img/a.webp': webp(300, 200),
        'shared/my diagram.svg': DIAGRAM_SVG,
      },
      {},
      'docs/architecture-notes.md',
    );
    expect(lines(outcome)).toEqual([]);
    expect(outcome.evidence?.map((e) => e.detail)).toEqual([
      // PNG and JPEG pixels are decoded to tell a picture from a flat colour.
      'docs/img/a.png (PNG, 300×200), 2 colours, 95.7% #888888',
      'docs/img/a.gif (GIF, 300×200); pixels not inspected: GIF images are not decoded here',
      'docs/img/a.jpg (JPEG, 300×200), 5 colours, 75% #ffffff',
      'docs/img/a.webp (WebP, 300×200); pixels not inspected: WebP images are not decoded here',
      'shared/my diagram.svg (SVG, 400×200, 5 drawing elements)',
    ]);
    expect([outcome.passed, outcome.examined]).toEqual([1, 1]);
  });

  it('decodes %20, ignores query and fragment, and reports a case mismatch precisely', async () => {
    const ok = await diagram('![d](docs/my%20diagram.svg?raw=true#top)\n', { 'docs/my diagram.svg': DIAGRAM_SVG });
    expect(lines(ok)).toEqual([]);
    const wrongCase = await diagram('# N\n\n![d](docs/architecture.svg)\n', { 'docs/Architecture.SVG': DIAGRAM_SVG });
    expect(lines(wrongCase)).toEqual([
      '3 error: The image docs/architecture.svg (line 3) does not exist; docs/Architecture.SVG does: paths are case-sensitive on GitHub and in the grader.',
    ]);
    expect(wrongCase.passed).toBe(0);
  });

  it('never reads an image symlinked out of the repository', async () => {
    const outcome = await diagram('![d](docs/arch.png)\n', { 'docs/arch.png': { symlinkOutside: '/etc/passwd' } });
    expect(lines(outcome)).toEqual([
      '1 error: The image docs/arch.png (line 1) is a symbolic link to /etc/passwd outside the repository; it was not read.',
    ]);
    expect(outcome.repo.reads).toEqual(['architecture-notes.md']);
    const broken = await diagram('![d](docs/arch.png)\n', { 'docs/arch.png': { symlinkBroken: 'gone.png' } });
    expect(lines(broken)).toEqual([
      '1 error: The image docs/arch.png (line 1) is a symbolic link to gone.png, which does not exist.',
    ]);
  });

  it('reports placeholders: 1×1 PNG, empty SVG, empty file, directory, no src, escaping paths', async () => {
    const notes = [
      '![a](a.png)',
      '![b](b.svg)',
      '![c](c.png)',
      '![d](docs)',
      '<img alt="no source">',
      '![e](../../etc/passwd)',
      '![f]()',
    ].join('\n');
    const outcome = await diagram(notes, {
      'a.png': png(1, 1),
      'b.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"></svg>',
      'c.png': new Uint8Array(),
      'docs/x.md': 'x',
    });
    expect(lines(outcome)).toEqual([
      '1 error: The image a.png (line 1) is only 1×1 pixels: a placeholder, not a diagram (at least 64×64).',
      '2 error: The SVG b.svg (line 2) draws 0 elements: an empty placeholder, not a diagram.',
      '3 error: The image c.png (line 3) is an empty file.',
      '4 error: The image path docs (line 4) is a directory, not an image file.',
      '5 error: The image at line 5 has no source path.',
      "6 error: The image '../../etc/passwd' (line 6) is a path that leads outside the repository, so it cannot be shown from the repository.",
      '7 error: The image at line 7 has no source path.',
    ]);
    expect(outcome.passed).toBe(0);
  });

  it('turns problems with other images into warnings once one real diagram exists', async () => {
    const outcome = await diagram('![ok](a.svg)\n\n![broken](missing.png)\n\n![wrong ext](b.png)\n', {
      'a.svg': DIAGRAM_SVG,
      'b.png': jpeg(400, 300),
    });
    expect(lines(outcome)).toEqual([
      '3 warning: The image missing.png (line 3) does not exist in the repository.',
      '5 warning: b.png (line 5) is named like a PNG but is a JPEG; rename it so tools treat it correctly.',
    ]);
    expect([outcome.passed, outcome.examined]).toEqual([1, 1]);
  });

  it('applies the remote image policy', async () => {
    const notes = '![d](https://user-images.githubusercontent.com/1/arch.png)\n';
    const rejected = await diagram(notes);
    expect([rejected.passed, rejected.findings[0]?.severity]).toEqual([0, 'error']);
    const warned = await diagram(notes, {}, { remoteImages: 'warn' });
    expect(lines(warned)).toEqual([
      '1 warning: The image at line 1 is remote (user-images.githubusercontent.com) and cannot be checked offline; it was counted without verification.',
    ]);
    expect(warned.passed).toBe(1);
    const accepted = await diagram(notes, {}, { remoteImages: 'accept' });
    expect([accepted.passed, accepted.findings.map((f) => f.severity)]).toEqual([1, ['info']]);
    expect(accepted.evidence?.[0]?.detail).toBe(
      'remote image https://user-images.githubusercontent.com/1/arch.png (not verified)',
    );
  });

  it('validates data: URIs like files', async () => {
    const b64 = Buffer.from(png(200, 100)).toString('base64');
    expect(lines(await diagram(`![d](data:image/png;base64,${b64})\n`))).toEqual([]);
    expect(lines(await diagram('![d](data:image/png;base64,aGVsbG8=)\n'))).toEqual([
      "1 error: The image data:image/png image (line 1) is not a PNG, JPEG, GIF, WebP or SVG image: its bytes are text starting with 'hello'.",
    ]);
  });
});

describe('docs/diagram-embedded: links and references', () => {
  it('reports links to images, diagram sources and diagram tools, but not a link around the embedded image', async () => {
    const notes = [
      '[![d](a.svg)](a.svg)',
      '',
      'See [the diagram](a.svg), [source](docs/arch.drawio), [on draw.io](https://app.diagrams.net/#G1abc) and [docs](https://kubernetes.io/docs/).',
      '',
      '[big version][big]',
      '',
      '[big]: img/big.png',
    ].join('\n');
    const outcome = await diagram(notes, { 'a.svg': DIAGRAM_SVG, 'docs/arch.drawio': '<mxfile/>' });
    expect(lines(outcome)).toEqual([
      '3 warning: Line 3 links to the diagram source docs/arch.drawio, which a Markdown viewer cannot show: export it as SVG or PNG and embed that (or use a mermaid block).',
      '3 warning: Line 3 links to a diagram on app.diagrams.net instead of embedding it; a link cannot be checked and may change after the deadline.',
      '5 warning: Line 5 links to the image img/big.png instead of embedding it: write ![big version](img/big.png) so it shows in the notes.',
    ]);
    expect(outcome.passed).toBe(1);
  });

  it('reports a reference-style image whose definition is missing, and resolves defined ones', async () => {
    const outcome = await diagram('# N\n\nText ![Architecture][arch] more.\n\n![ok][Good]\n\n[good]: a.svg\n', {
      'a.svg': DIAGRAM_SVG,
    });
    expect(lines(outcome)).toEqual([
      "3 warning: The image reference [arch] (line 3) is never defined, so nothing is shown: add a line '[arch]: path/to/diagram.svg'.",
    ]);
    const broken = await diagram('![ok][good]\n\n[good]: nope.svg\n');
    expect(lines(broken)).toEqual(['1 error: The image nope.svg (line 1) does not exist in the repository.']);
  });

  it('says when there is no diagram at all, at the architecture heading', async () => {
    const outcome = await diagram('# Notes\n\n## Overview\n\nText only.\n');
    expect(lines(outcome)).toEqual([
      '3 error: The notes embed no architecture diagram (no image and no mermaid or PlantUML block).',
    ]);
  });
});

describe('docs/diagram-embedded: diagrams as code', () => {
  it('accepts a mermaid flowchart and a PlantUML component diagram that name several components', async () => {
    const mermaid = await diagram(
      '```mermaid\nflowchart LR\n  ing[Ingress] --> svc[Service] --> dep[Deployment]\n```\n',
    );
    expect(lines(mermaid)).toEqual([]);
    expect(mermaid.evidence?.[0]?.detail).toBe(
      'mermaid flowchart diagram at line 1 naming 3 components: Ingress, Service, Deployment',
    );
    const puml = await diagram('```plantuml\n@startuml\n[web] --> [db]\n@enduml\n```\n');
    expect(lines(puml)).toEqual([]);
    const bare = await diagram('```\n@startuml\nnode a\nnode b\n@enduml\n```\n');
    expect(bare.passed).toBe(1);
  });

  it('says which objects the diagram names: what its labels name, not every object with a word in common', async () => {
    // The diagram and the objects of a real submission (mikaellecam/tp-kubernetes, labotrack).
    const notes = [
      '```mermaid',
      'flowchart LR',
      '    subgraph User',
      '      U[Browser / curl]',
      '    end',
      '',
      '    subgraph K8s["Kubernetes namespace: labotrack (linkerd.io/inject=enabled)"]',
      '      direction LR',
      '      F[result-frontend\\nThymeleaf UI\\n:8080]',
      '      S[sample-api\\nSpring Boot + JPA\\n:8080]',
      '      A[analysis-api\\nSpring Boot + WebClient\\n:8080]',
      '      DB[(Postgres\\nStatefulSet\\nsamples + analysis DBs)]',
      '    end',
      '',
      '    U -- "NodePort 30080" --> F',
      '    F -- "REST" --> S',
      '    F -- "REST" --> A',
      '    A -- "REST inter-service\\nGET /samples/{id}\\nPATCH /samples/{id}/status" --> S',
      '    S --> DB',
      '    A --> DB',
      '',
      '    classDef mesh fill:#e8f1fb,stroke:#2c5aa0,stroke-width:1.5px;',
      '    class F,S,A mesh;',
      '```',
    ].join('\n');
    const outcome = await diagramWith(notes, [
      ['Namespace', 'labotrack'],
      ['Secret', 'postgres-secret'],
      ['ConfigMap', 'postgres-init'],
      ['Service', 'postgres'],
      ['StatefulSet', 'postgres'],
      ['ServiceAccount', 'sample-api'],
      ['Deployment', 'sample-api'],
      ['Service', 'sample-api'],
      ['ServiceAccount', 'analysis-api'],
      ['Deployment', 'analysis-api'],
      ['Service', 'analysis-api'],
      ['ServiceAccount', 'result-frontend'],
      ['Deployment', 'result-frontend'],
      ['Service', 'result-frontend'],
      ['ServiceProfile', 'sample-api.labotrack.svc.cluster.local'],
      ['ServiceProfile', 'analysis-api.labotrack.svc.cluster.local'],
      ['Server', 'sample-api'],
      ['Server', 'analysis-api'],
      ['Server', 'result-frontend'],
      ['MeshTLSAuthentication', 'result-frontend-identity'],
      ['MeshTLSAuthentication', 'analysis-api-identity'],
      ['NetworkAuthentication', 'all-networks'],
      ['AuthorizationPolicy', 'sample-api-allow-frontend'],
      ['AuthorizationPolicy', 'sample-api-allow-analysis'],
      ['AuthorizationPolicy', 'analysis-api-allow-frontend'],
      ['AuthorizationPolicy', 'result-frontend-allow-public'],
      ['Namespace', 'rogue'],
      ['Pod', 'rogue'],
    ]);
    expect(lines(outcome)).toEqual([]);
    expect(outcome.evidence?.map((e) => e.detail)).toEqual([
      'mermaid flowchart diagram at line 1 naming 5 components: Browser / curl, result-frontend Thymeleaf UI :8080, sample-api Spring Boot + JPA :8080, analysis-api Spring Boot + WebC…; names 4 objects of the manifests: StatefulSet postgres, Deployment sample-api, Deployment analysis-api, Deployment result-frontend',
    ]);
  });

  it('takes the object of the kind a label says, and a secret or a policy only by its own name', async () => {
    const objects: [string, string][] = [
      ['Deployment', 'web'],
      ['Service', 'web'],
      ['PodDisruptionBudget', 'web'],
      ['StatefulSet', 'postgres-db'],
      ['Secret', 'postgres-secret'],
    ];
    const named = async (flow: string) =>
      (await diagramWith(`\`\`\`mermaid\nflowchart LR\n  ${flow}\n\`\`\`\n`, objects)).evidence?.[0]?.detail?.split(
        '; ',
      )[1];
    expect(await named('a[Service web] --> b[PostgreSQL]')).toBe(
      'names 2 objects of the manifests: Service web, StatefulSet postgres-db',
    );
    expect(await named('web --> db[(postgres-secret)]')).toBe(
      'names 2 objects of the manifests: Deployment web, Secret postgres-secret',
    );
    expect(await named('a[Ingress] --> b[Deployment web<br/>3 pods]')).toBe(
      'names 1 object of the manifests: Deployment web',
    );
  });

  it('rejects diagrams of the wrong type, with one component, or when the rubric wants an image', async () => {
    expect(lines(await diagram('```mermaid\npie title Pets\n  "Dogs" : 3\n```\n'))).toEqual([
      '1 error: The mermaid block at line 1 is a pie diagram, not an architecture diagram (accepted: flowchart, graph, flowchart-elk, sequenceDiagram, C4Context, C4Container, C4Component, C4Dynamic, C4Deployment, architecture-beta).',
    ]);
    expect(lines(await diagram('```mermaid\nflowchart LR\n  web\n```\n'))).toEqual([
      '1 error: The mermaid diagram at line 1 names 1 component (web); an architecture diagram shows how at least 2 connect.',
    ]);
    expect(
      lines(await diagram('```mermaid\nsequenceDiagram\n  a->>b: x\n```\n', {}, { mermaidTypes: ['flowchart'] })),
    ).toEqual([
      '1 error: The mermaid block at line 1 is a sequenceDiagram diagram, not an architecture diagram (accepted: flowchart).',
    ]);
    expect(lines(await diagram('```mermaid\nflowchart LR\n a-->b\n```\n', {}, { diagramsAsCode: false }))).toEqual([
      '1 error: The mermaid block at line 1 is not accepted as the diagram by this rubric: embed an image instead.',
    ]);
  });

  it('reports parse errors at their line in the notes, inside nested containers too', async () => {
    const notes = ['# N', '', '> Diagram:', '>', '> ```mermaid', '> flowchart LR', '>   a --> b -->', '> ```'].join(
      '\n',
    );
    expect(lines(await diagram(notes))).toEqual([
      "7 error: The mermaid diagram does not parse: expected '&', ':', '|', a node name, found the end of the diagram after \"…rt LR  a --> b -->\" (line 7).",
    ]);
  });
});
