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
   * True when the type is one this module validates (see the subset notes in
   * mermaid.ts and plantuml.ts). Other types are recognised but neither
   * validated nor counted as an architecture diagram.
   */
  validated: boolean;
  /** Distinct components (nodes, participants, services) named by the diagram, by id. */
  components: DiagramComponent[];
  errors: DiagramError[];
}

/** Levenshtein distance, capped: used to suggest the diagram type a typo meant. */
export function editDistance(a: string, b: string, cap = 3): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > cap) return cap + 1;
    previous = current;
  }
  return previous[b.length]!;
}

export function closest(word: string, candidates: readonly string[], cap = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = cap + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase(), cap);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Collects components by id, keeping the first line and the most informative label. */
export class ComponentSet {
  private readonly byId = new Map<string, DiagramComponent>();

  add(id: string, label: string | undefined, line: number): void {
    const existing = this.byId.get(id);
    const text = label?.trim() || id;
    if (!existing) this.byId.set(id, { id, label: text, line });
    else if (existing.label === existing.id && label?.trim()) existing.label = text;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  list(): DiagramComponent[] {
    return [...this.byId.values()];
  }
}
