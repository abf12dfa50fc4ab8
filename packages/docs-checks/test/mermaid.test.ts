import { describe, expect, it } from '@jest/globals';
import { parseMermaid } from '../src/diagrams/mermaid.js';

const ids = (src: string): string[] => parseMermaid(src).components.map((c) => c.id);
const errorLines = (src: string): [number, string][] => parseMermaid(src).errors.map((e) => [e.line, e.message]);

describe('mermaid flowchart', () => {
  it('accepts a realistic architecture flowchart and extracts its nodes with labels', () => {
    const src = [
      '%% the lab 85 architecture',
      '%%{init: {"theme": "neutral"}}%%',
      'flowchart LR',
      '  user([Student browser]) -->|HTTPS| ing[Ingress web]',
      '  subgraph lab85 [namespace lab85]',
      '    direction TB',
      '    ing --> svc(Service web) -.-> pods{{"Deployment web (3 replicas)"}}',
      '    pods --> cm[(ConfigMap web-config)] & sec[/Secret web-secrets/]',
      '    pods -- reads --> cfg>config]',
      '    pods == writes ==> db[(Postgres)]',
      '    pods -. metrics .-> prom((Prometheus))',
      '    a1:::hot --- a2',
      '    x1 <--> x2; x2 --o x3; x3 --x x4; x4 ~~~ x5',
      '  end',
      '  classDef hot fill:#f96',
      '  style db fill:#ccc',
      '  click ing "https://example.com" "tooltip"',
      '  linkStyle 0 stroke:#f00',
    ].join('\n');
    const parsed = parseMermaid(src);
    expect(parsed.errors).toEqual([]);
    expect(parsed.type).toBe('flowchart');
    expect(parsed.validated).toBe(true);
    expect(parsed.components.map((c) => c.id)).toEqual([
      'user',
      'ing',
      'svc',
      'pods',
      'cm',
      'sec',
      'cfg',
      'db',
      'prom',
      'a1',
      'a2',
      'x1',
      'x2',
      'x3',
      'x4',
      'x5',
    ]);
    expect(parsed.components.find((c) => c.id === 'pods')).toEqual({
      id: 'pods',
      label: 'Deployment web (3 replicas)',
      line: 7,
    });
    expect(parsed.components.find((c) => c.id === 'user')?.label).toBe('Student browser');
  });

  it('accepts graph with semicolons, no direction, chains and the @{} shape syntax', () => {
    expect(errorLines('graph TD; A-->B; B-->C-->D')).toEqual([]);
    expect(ids('graph\n  A --> B')).toEqual(['A', 'B']);
    expect(ids('flowchart TB\n  db@{ shape: cyl, label: "Database" } --> api')).toEqual(['db', 'api']);
    expect(parseMermaid('flowchart TB\n  db@{ shape: cyl, label: "Database" }').components[0]?.label).toBe('Database');
    expect(errorLines('flowchart LR\n  A["multi\nline label"] --> B')).toEqual([]);
    expect(ids('flowchart LR\n  web-api --> db.main')).toEqual(['web-api', 'db.main']);
    expect(errorLines('flowchart LR\n  A e1@--> B')).toEqual([]);
    expect(ids('flowchart LR\n  A--oB\n  C--xray')).toEqual(['A', 'B', 'C', 'ray']);
    expect(ids('flowchart LR\n  A-- ok --xray')).toEqual(['A', 'ray']);
  });

  it('ignores front matter and comments but reports them when unterminated', () => {
    expect(errorLines('---\ntitle: Lab 85\n---\nflowchart LR\n  A --> B')).toEqual([]);
    expect(errorLines('---\ntitle: Lab 85\nflowchart LR\n  A --> B')).toEqual([
      [1, "the front matter opened with '---' is never closed"],
    ]);
    expect(errorLines('%%{init: {"theme": "dark"}\nflowchart LR\n A-->B')).toEqual([
      [1, "the directive opened with '%%{' is never closed with '}%%'"],
    ]);
  });

  it('rejects unknown diagram types with a suggestion, and wrong case', () => {
    expect(errorLines('flowchar TD\n  A --> B')).toEqual([
      [1, "'flowchar' is not a Mermaid diagram type (did you mean 'flowchart'?)"],
    ]);
    expect(errorLines('\n\narchitecture diagram\n')).toEqual([
      [3, "'architecture' is not a Mermaid diagram type (did you mean 'architecture-beta'?)"],
    ]);
    expect(errorLines('Flowchart LR\n A-->B')).toEqual([
      [1, "diagram types are case-sensitive: write 'flowchart', not 'Flowchart'"],
    ]);
    expect(errorLines('boxes\nA-->B')).toEqual([[1, "'boxes' is not a Mermaid diagram type"]]);
    expect(errorLines('')).toEqual([[1, 'the diagram is empty']]);
    expect(errorLines('flowchart XY\n A-->B')).toEqual([
      [1, "'XY' is not a flowchart direction (use TB, TD, BT, RL or LR)"],
    ]);
  });

  it('recognises other diagram types without validating or counting them', () => {
    const pie = parseMermaid('pie title Pets\n "Dogs" : 386');
    expect(pie).toMatchObject({ type: 'pie', validated: false, components: [], errors: [] });
    expect(parseMermaid('classDiagram\n  A <|-- B').validated).toBe(false);
  });

  it('reports unbalanced brackets and bracket characters in unquoted labels', () => {
    expect(errorLines('flowchart LR\n  A[Web --> B')).toEqual([[2, "'[' is never closed with ']' on the same line"]]);
    expect(errorLines('flowchart LR\n  A[Service (ClusterIP)] --> B')).toEqual([
      [
        2,
        `the label 'Service (ClusterIP)] --> B' contains '(', which Mermaid reads as syntax: put the label in quotes, e.g. id["Service (ClusterIP)] --> B"]`,
      ],
    ]);
    expect(errorLines('flowchart LR\n  A(("db") --> B')).toEqual([[2, `expected '))' after the quoted label "db"`]]);
    expect(errorLines('flowchart LR\n  A["open --> B')).toEqual([[2, 'a quoted label is never closed with "']]);
    expect(errorLines('flowchart LR\n  A -->|HTTP B')).toEqual([
      [2, "the edge label opened with '|' is never closed with '|'"],
    ]);
  });

  it('reports dangling arrows, stray text and the reserved word end', () => {
    expect(errorLines('flowchart LR\n  A -->\n  B --> C')).toEqual([[2, 'this arrow has no node after it']]);
    expect(errorLines('flowchart LR\n  --> B')).toEqual([[2, 'this arrow has no node before it']]);
    expect(errorLines('flowchart LR\n  A -- calls B')).toEqual([
      [2, "the edge text after '--' is never closed: write A -- text --> B, or A --> B"],
    ]);
    expect(errorLines('flowchart LR\n  The web app talks to the db')).toEqual([
      [2, "unexpected 'web app talks to the db': expected an arrow (-->) or the end of the statement"],
    ]);
    expect(errorLines('flowchart LR\n  A --> end')).toEqual([
      [2, "'end' is a reserved word in flowcharts: name the node differently (e.g. End or end_node)"],
    ]);
    expect(errorLines('flowchart LR\n  A & --> B')).toEqual([[2, "expected a node name, found '--> B'"]]);
  });

  it('checks subgraph/end balance and keeps parsing after an error', () => {
    expect(errorLines('flowchart LR\n  subgraph one\n    A --> B\n')).toEqual([
      [2, "this 'subgraph' is never closed with 'end'"],
    ]);
    expect(errorLines('flowchart LR\n  A --> B\n  end')).toEqual([[3, "'end' without a matching 'subgraph'"]]);
    expect(errorLines('flowchart LR\n  subgraph x [Title\n  end')).toEqual([
      [2, "the subgraph title's '[' is never closed with ']'"],
    ]);
    const parsed = parseMermaid('flowchart LR\n  A[broken --> B\n  C --> D');
    expect(parsed.errors.map((e) => e.line)).toEqual([2]);
    expect(parsed.components.map((c) => c.id)).toEqual(['C', 'D']);
  });
});

describe('mermaid sequenceDiagram', () => {
  it('accepts participants, messages, notes and balanced blocks', () => {
    const src = [
      'sequenceDiagram',
      '  autonumber',
      '  actor U as Student',
      '  participant I as Ingress',
      '  participant W as web Pod',
      '  U->>I: GET /',
      '  I->>+W: forward',
      '  alt healthy',
      '    W-->>-I: 200',
      '  else crash',
      '    W--xI: connection reset',
      '  end',
      '  loop every 10s',
      '    I-)W: readiness probe',
      '  end',
      '  Note over I,W: probes decide routing',
      '  K->>W: restart',
    ].join('\n');
    const parsed = parseMermaid(src);
    expect(parsed.errors).toEqual([]);
    expect(parsed.components.map((c) => [c.id, c.label])).toEqual([
      ['U', 'Student'],
      ['I', 'Ingress'],
      ['W', 'web Pod'],
      ['K', 'K'],
    ]);
  });

  it('reports dangling messages, misplaced else and unbalanced blocks', () => {
    const src = ['sequenceDiagram', '  A->>: hi', '  else', '  loop forever', '    A->>B: x', '  Hello there'].join(
      '\n',
    );
    expect(errorLines(src)).toEqual([
      [2, 'this message arrow has no target participant'],
      [3, "'else' is only allowed inside alt"],
      [4, "this 'loop' is never closed with 'end'"],
      [6, "'Hello there' is not a message (A->>B: text), a participant or a block keyword"],
    ]);
    expect(errorLines('sequenceDiagram\n  end')).toEqual([
      [2, "'end' without an open loop/alt/opt/par/critical/break/rect/box"],
    ]);
    expect(errorLines('sequenceDiagram\n  Note over A')).toEqual([
      [2, "a note is written 'Note right of A: text' (or left of / over A,B)"],
    ]);
  });
});

describe('mermaid C4 and architecture-beta', () => {
  it('extracts C4 elements and validates macros, quotes and boundaries', () => {
    const src = [
      'C4Container',
      '  title Lab 85',
      '  Person(student, "Student")',
      '  System_Boundary(lab, "lab85") {',
      '    Container(web, "web", "Go", "Serves the page")',
      '    ContainerDb(db, "Postgres")',
      '  }',
      '  Rel(student, web, "HTTPS")',
      '  Rel(web, db, "SQL, port 5432")',
    ].join('\n');
    const parsed = parseMermaid(src);
    expect(parsed.errors).toEqual([]);
    expect(parsed.components.map((c) => [c.id, c.label])).toEqual([
      ['student', 'Student'],
      ['web', 'web'],
      ['db', 'Postgres'],
    ]);
    expect(
      errorLines('C4Context\n  Contianer(web, "web")\n  Rel(web)\n  System(x, "unclosed)\n  Boundary(b, "b") {'),
    ).toEqual([
      [2, "'Contianer' is not a C4 macro (did you mean 'Container'?)"],
      [3, 'Rel(from, to, label) needs at least the two elements it connects'],
      [4, 'System(…) has an unclosed quote'],
      [5, "this boundary's '{' is never closed with '}'"],
    ]);
  });

  it('parses architecture-beta services and edges between declared names', () => {
    const src = [
      'architecture-beta',
      '  group lab(cloud)[Lab 85]',
      '  service web(server)[Web] in lab',
      '  service db(database)[Database] in lab',
      '  web:R --> L:db',
      '  web:B -- T:cache',
    ].join('\n');
    const parsed = parseMermaid(src);
    expect(parsed.components.map((c) => c.label)).toEqual(['Web', 'Database']);
    expect(parsed.errors).toEqual([{ line: 6, message: "'cache' is used in an edge but never declared" }]);
  });
});
