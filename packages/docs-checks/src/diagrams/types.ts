/** What the diagram-as-code parsers report about one fenced block. */

export interface DiagramError {
  /** 1-based line inside the block (the line after the opening fence is 1). */
  line: number;
  message: string;
}

export interface DiagramComponent {
  /** The identifier used in the diagram (`web`, `db`). */
  id: string;
  /** What the reader sees (the label), or the id when there is none. */
  label: string;
  /** 1-based line inside the block where it first appears. */
  line: number;
}

export interface DiagramParse {
  language: 'mermaid' | 'plantuml';
  /** Diagram type as written: `flowchart`, `sequenceDiagram`, `C4Container`, `component`… */
  type: string | undefined;
  /**
   * True when the diagram was validated: every Mermaid type (mermaid's own
   * parser), PlantUML component/deployment/sequence diagrams (the subset in
   * plantuml.ts). Other PlantUML kinds are recognised but not validated.
   */
  validated: boolean;
  /** Distinct components (nodes, participants, services) named by the diagram, by id. */
  components: DiagramComponent[];
  errors: DiagramError[];
  /** Set when the diagram could not be checked at all (the parser ran out of time or failed): why. */
  unchecked?: string;
}

/** A label as it reads: the line breaks diagrams write as `\n` or `<br>` are spaces. */
export function cleanLabel(label: string): string {
  return label
    .replace(/<br\s*\/?>|\\n/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Collects components by id, keeping the first line and the most informative label. */
export class ComponentSet {
  private readonly byId = new Map<string, DiagramComponent>();

  add(id: string, label: string | undefined, line: number): void {
    const existing = this.byId.get(id);
    const clean = label === undefined ? '' : cleanLabel(label);
    const text = clean || id;
    if (!existing) this.byId.set(id, { id, label: text, line });
    else if (existing.label === existing.id && clean) existing.label = text;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  list(): DiagramComponent[] {
    return [...this.byId.values()];
  }
}
