import { describe, expect, it } from '@jest/globals';
import { findArrow, parsePlantUml } from '../src/diagrams/plantuml.js';

const errorLines = (src: string): [number, string][] => parsePlantUml(src).errors.map((e) => [e.line, e.message]);

describe('plantuml', () => {
  it('extracts components, aliases and relation endpoints from a component diagram', () => {
    const src = [
      '@startuml',
      "' lab 85",
      'skinparam componentStyle rectangle',
      'left to right direction',
      'actor "Student" as student',
      'node "kind cluster" {',
      '  package lab85 {',
      '    component "Deployment web" as web <<Deployment>>',
      '    [Service web] as svc',
      '    database "Postgres" as db #lightblue',
      '  }',
      '}',
      "/' a block",
      "   comment '/",
      'note right of web',
      '  three replicas',
      'end note',
      'student --> svc : HTTP',
      'svc -right-> web',
      'web ..> db : SQL',
      'web -[#red]-> [Metrics]',
      '@enduml',
    ].join('\n');
    const parsed = parsePlantUml(src);
    expect(parsed.errors).toEqual([]);
    expect(parsed.validated).toBe(true);
    expect(parsed.components.map((c) => [c.id, c.label])).toEqual([
      ['student', 'Student'],
      ['kind cluster', 'kind cluster'],
      ['lab85', 'lab85'],
      ['web', 'Deployment web'],
      ['svc', 'Service web'],
      ['db', 'Postgres'],
      ['Metrics', 'Metrics'],
    ]);
  });

  it('accepts sequence diagrams and C4-PlantUML', () => {
    const seq = parsePlantUml(
      '@startuml\nparticipant Ingress\nStudent -> Ingress: GET /\nIngress --> Student: 200\nalt failure\n  Ingress -> web: retry\nend\n@enduml',
    );
    expect(seq.errors).toEqual([]);
    expect(seq.components.map((c) => c.id)).toEqual(['Ingress', 'Student', 'web']);
    const c4 = parsePlantUml(
      '@startuml\n!include <C4/C4_Container>\nPerson(user, "Student")\nSystem_Boundary(b, "lab85") {\n  Container(web, "web", "Go")\n}\nRel(user, web, "HTTPS")\n@enduml',
    );
    expect(c4.errors).toEqual([]);
    expect(c4.components.map((c) => c.id)).toEqual(['user', 'web']);
  });

  it('reports unpaired start/end, unbalanced braces and blocks, dangling arrows and quotes', () => {
    expect(errorLines('@startuml\n[A] --> [B]')).toEqual([[1, '@startuml is never closed with @enduml']]);
    expect(errorLines('[A] --> [B]\n@enduml')).toEqual([[2, '@enduml without @startuml']]);
    expect(errorLines('@startuml\nnode n {\n  [A]\n@enduml')).toEqual([[2, "this '{' is never closed with '}'"]]);
    expect(errorLines('@startuml\n[A]\n}\n@enduml')).toEqual([[3, "'}' without a matching '{'"]]);
    expect(errorLines('@startuml\n[A] -->\n--> [B]\n@enduml')).toEqual([
      [2, "the arrow '-->' has no element after it"],
      [3, "the arrow '-->' has no element before it"],
    ]);
    expect(errorLines('@startuml\ncomponent "web as w\n@enduml')).toEqual([[2, 'this line has an unclosed quote']]);
    expect(errorLines('@startuml\n[Web\n@enduml')).toEqual([[2, "'[' is never closed with ']'"]]);
    expect(errorLines('@startuml\nnote left of A\n  text\n@enduml')).toEqual([
      [2, "this block is never closed with 'end note'"],
    ]);
    expect(errorLines('@startuml\nloop 10 times\nA -> B: x\n@enduml')).toEqual([
      [2, "this block is never closed with 'end'"],
    ]);
  });

  it('leaves syntax outside the subset alone instead of flagging it', () => {
    const parsed = parsePlantUml('@startuml\nThis is free text.\nweb-api --> db\nbox-office\n@enduml');
    expect(parsed.errors).toEqual([]);
    expect(parsed.components.map((c) => c.id)).toEqual(['web-api', 'db']);
  });

  it('recognises other @start kinds without validating them', () => {
    expect(parsePlantUml('@startmindmap\n* root\n@endmindmap')).toMatchObject({
      type: 'mindmap',
      validated: false,
      errors: [],
    });
    expect(errorLines('@startmindmap\n* root\n@enduml')).toEqual([
      [3, '@startmindmap must be closed with @endmindmap, not @enduml'],
    ]);
  });

  it('finds the real arrow of a line', () => {
    expect(findArrow('web.app --> db')).toEqual({ index: 8, arrow: '-->' });
    expect(findArrow('a -up-> b')).toEqual({ index: 2, arrow: '-up->' });
    expect(findArrow('a <|-- b')).toEqual({ index: 2, arrow: '<|--' });
    expect(findArrow('a --o b')).toEqual({ index: 2, arrow: '--o' });
    expect(findArrow('box-office')).toBeUndefined();
    expect(findArrow('"a --> b" as x')).toBeUndefined();
    expect(findArrow('e.g. this.')).toBeUndefined();
  });
});
