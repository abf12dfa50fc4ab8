/**
 * The failure drills of a report as timelines: what the cluster checks
 * recorded as evidence (packages/cluster checks/shared.ts drillEvidence, the
 * watching drills' `timeline`, cluster/service-availability's `during-…`),
 * read back into marks on a time axis from the moment the fault was injected:
 * injected → NotReady → Ready, with the Service probe's success rate and its
 * longest outage. Drawn as an SVG with its text alternative and the marks as
 * a list; nothing is invented: a mark is drawn only when the report has it.
 */
import type { Evidence, Report } from '@labgrader/core';
import { html, type Html } from './html.js';

export type MarkKind = 'injected' | 'not-ready' | 'ready' | 'event';

export interface DrillMark {
  /** Seconds after the fault was injected (negative: before). */
  at: number;
  label: string;
  kind: MarkKind;
}

export interface DrillTimeline {
  scenario: string;
  checkId: string;
  /** What was done and seen, in one line. */
  narrative: string;
  /** Until the desired number of pods was Ready again; undefined when it did not recover (or was not measured). */
  recoverySeconds?: number;
  /** When the drill first saw the pod (or node) NotReady: its first not-ready mark; undefined when none was seen. */
  notReadySeconds?: number;
  marks: DrillMark[];
  probe?: { ok: number; total: number; percent: number; longestOutageSeconds?: number; via?: string };
  /** Why what it measured was not graded (the lab's own failure). */
  notMeaningful?: string;
  /** The evidence lines that are not marks: commands and events, for the details. */
  details: { label: string; detail: string }[];
}

/** Labels of drill evidence that are not the drill's narrative. */
const GENERIC = new Set([
  'recovery-time',
  'commands',
  'events',
  'service-probe',
  'timeline',
  'not-meaningful',
  'baseline',
  'stopped-waiting',
]);

const PROBE = /^(\d+)\/(\d+) requests answered \(([\d.]+)%\)(?:, longest outage ([\d.]+) s)?(?:,? via (.+))?$/;
const OUTAGE = /longest outage ([\d.]+) s/;
const TIMELINE_LINE = /^([+-])(\d+(?:\.\d+)?) s {2}(.+)$/;

/** What a watching drill's timeline line says happened (its wording: packages/cluster drills/*). */
export function kindOf(event: string, at: number): MarkKind {
  if (at === 0) return 'injected'; // every watching drill marks its fault at +0.0 s
  if (/\bnot Ready\b|NotReady|declared lost|out of the Service's endpoints/.test(event)) return 'not-ready';
  if (/Ready again|\d+\/\d+ (pods )?Ready|Ready and schedulable|answers again/.test(event)) return 'ready';
  return 'event';
}

function parseProbe(detail: string): DrillTimeline['probe'] | undefined {
  const m = PROBE.exec(detail.trim());
  if (!m) return undefined;
  return {
    ok: Number(m[1]),
    total: Number(m[2]),
    percent: Number(m[3]),
    ...(m[4] !== undefined ? { longestOutageSeconds: Number(m[4]) } : {}),
    ...(m[5] !== undefined ? { via: m[5] } : {}),
  };
}

/** The drills the report's cluster evidence describes, in the order they ran. */
export function drillTimelines(report: Report): DrillTimeline[] {
  // cluster/deploys-ready grades the deploy, and carries the stage's own evidence (cleanup, images, steady
  // state…): none of it is a drill's.
  const cluster = report.evidence.filter(
    (e) => e.checkId.startsWith('cluster/') && e.checkId !== 'cluster/deploys-ready',
  );
  const drills: DrillTimeline[] = [];
  const byScenario = new Map<string, DrillTimeline>();
  let current: DrillTimeline | undefined;
  const during: Evidence[] = [];
  for (const e of cluster) {
    if (e.label.startsWith('during-')) {
      during.push(e);
      continue;
    }
    if (!GENERIC.has(e.label)) {
      // A drill's narrative opens its evidence (drillEvidence); the same drill graded twice is shown once.
      const seen = byScenario.get(e.label);
      if (seen) {
        current = seen.checkId === e.checkId ? seen : undefined;
        continue;
      }
      if (current && current.checkId === e.checkId && current.narrative === '') {
        // Its timeline came first (the watching drills): the narrative names the drill.
        current.scenario = e.label;
        current.narrative = e.detail;
        byScenario.set(e.label, current);
        continue;
      }
      current = { scenario: e.label, checkId: e.checkId, narrative: e.detail, marks: [], details: [] };
      byScenario.set(e.label, current);
      drills.push(current);
      continue;
    }
    if (!current || current.checkId !== e.checkId) {
      // Evidence of a check before its drill's narrative (the watching drills' timeline): a drill of its own check.
      if (e.label !== 'timeline') continue;
      current = {
        scenario: e.checkId.replace(/^cluster\//, ''),
        checkId: e.checkId,
        narrative: '',
        marks: [],
        details: [],
      };
      drills.push(current);
    }
    const d = current;
    switch (e.label) {
      case 'recovery-time': {
        const m = /^([\d.]+) s \(/.exec(e.detail);
        if (m) d.recoverySeconds = Number(m[1]);
        break;
      }
      case 'service-probe':
        d.probe = parseProbe(e.detail) ?? d.probe;
        break;
      case 'timeline':
        for (const line of e.detail.split('\n')) {
          const m = TIMELINE_LINE.exec(line.trim());
          if (!m) continue;
          const at = (m[1] === '-' ? -1 : 1) * Number(m[2]);
          d.marks.push({ at, label: m[3]!, kind: kindOf(m[3]!, at) });
        }
        break;
      case 'not-meaningful':
        d.notMeaningful = e.detail;
        break;
      default:
        d.details.push({ label: e.label, detail: e.detail });
    }
  }
  for (const e of during) {
    const d = byScenario.get(e.label.slice('during-'.length));
    const probe = parseProbe(e.detail);
    if (d && probe) d.probe = { ...d.probe, ...probe };
  }
  for (const d of drills) {
    if (d.probe && d.probe.longestOutageSeconds === undefined) {
      const m = OUTAGE.exec(d.narrative);
      if (m) d.probe.longestOutageSeconds = Number(m[1]);
      else if (d.probe.ok === d.probe.total) d.probe.longestOutageSeconds = 0;
    }
    if (!d.marks.some((m) => m.kind === 'injected' && m.at === 0)) {
      d.marks.unshift({ at: 0, label: 'fault injected', kind: 'injected' });
    }
    if (d.recoverySeconds !== undefined && !d.marks.some((m) => m.kind === 'ready')) {
      d.marks.push({ at: d.recoverySeconds, label: 'desired pods Ready again', kind: 'ready' });
    }
    d.marks.sort((a, b) => a.at - b.at);
    const notReady = d.marks.find((m) => m.kind === 'not-ready');
    if (notReady) d.notReadySeconds = notReady.at;
  }
  return drills;
}

const COLORS: Record<MarkKind, string> = {
  injected: '#b91c1c',
  'not-ready': '#b45309',
  ready: '#15803d',
  event: '#4b5563',
};

const secondsText = (n: number) => `${Math.round(n * 10) / 10} s`;

/** The sentence a screen reader hears for the drawing (the list below it says the same, mark by mark). */
export function describeTimeline(d: DrillTimeline): string {
  const parts = [
    `${d.scenario}: ${d.marks.map((m) => `${m.label} at ${m.at < 0 ? '' : '+'}${secondsText(m.at)}`).join(', ')}`,
  ];
  if (d.recoverySeconds === undefined && d.marks.every((m) => m.kind !== 'ready')) parts.push('did not recover');
  if (d.probe) {
    parts.push(
      `the Service answered ${d.probe.ok} of ${d.probe.total} requests (${d.probe.percent}%)` +
        (d.probe.longestOutageSeconds !== undefined
          ? `, longest outage ${secondsText(d.probe.longestOutageSeconds)}`
          : ''),
    );
  }
  return parts.join('; ');
}

/** One drill as an SVG timeline (role="img" with the description as its label). */
export function timelineSvg(d: DrillTimeline): Html {
  const width = 560;
  const left = 16;
  const right = 16;
  const axisY = 60;
  const first = Math.min(0, ...d.marks.map((m) => m.at));
  const last = Math.max(1, d.recoverySeconds ?? 0, ...d.marks.map((m) => m.at));
  const span = last - first;
  const x = (t: number) => Math.round((left + ((t - first) / span) * (width - left - right)) * 10) / 10;
  const ready = d.recoverySeconds ?? d.marks.find((m) => m.kind === 'ready')?.at;
  const notReadyFrom = d.marks.find((m) => m.kind === 'not-ready')?.at ?? 0;
  const ticks = niceTicks(first, last);
  // Each label goes in the first of three rows (two above the axis, one below) where it does not run into
  // the previous label of that row; cut to the room it has when none is free.
  const charWidth = 5.8;
  const rowEnds = [-Infinity, -Infinity, -Infinity];
  const labelled = d.marks.map((m) => {
    const at = x(m.at);
    const text = m.label.length > 60 ? `${m.label.slice(0, 59)}…` : m.label;
    const anchor = at > width * 0.7 ? 'end' : at < width * 0.3 ? 'start' : 'middle';
    const extent = (t: string) => {
      const w = t.length * charWidth;
      return anchor === 'start' ? [at, at + w] : anchor === 'end' ? [at - w, at] : [at - w / 2, at + w / 2];
    };
    let row = rowEnds.findIndex((end) => extent(text)[0]! > end + 6);
    let shown = text;
    if (row < 0) {
      row = rowEnds.indexOf(Math.min(...rowEnds));
      const room = Math.max(8, Math.floor((width - right - Math.max(rowEnds[row]! + 6, left)) / charWidth));
      shown = text.length > room ? `${text.slice(0, room - 1)}…` : text;
    }
    rowEnds[row] = extent(shown)[1]!;
    return { ...m, row, shown, anchor };
  });
  const labelY = [axisY - 26, axisY - 44, axisY + 46];
  const lineTo = [axisY - 22, axisY - 40, axisY + 34];
  return html`<svg
    class="drill-timeline"
    viewBox="0 0 ${width} 132"
    width="100%"
    preserveAspectRatio="xMinYMin meet"
    role="img"
    aria-label="${describeTimeline(d)}"
  >
    <line x1="${left}" y1="${axisY}" x2="${width - right}" y2="${axisY}" stroke="#6b7280" stroke-width="1" />
    ${
      ready !== undefined
        ? html`<rect
              x="${x(notReadyFrom)}"
              y="${axisY - 6}"
              width="${Math.max(1, x(ready) - x(notReadyFrom))}"
              height="12"
              fill="#fde68a"
              stroke="#b45309"
            />
            <rect
              x="${x(ready)}"
              y="${axisY - 6}"
              width="${Math.max(0, width - right - x(ready))}"
              height="12"
              fill="#bbf7d0"
            />`
        : html`<rect
            x="${x(notReadyFrom)}"
            y="${axisY - 6}"
            width="${Math.max(1, width - right - x(notReadyFrom))}"
            height="12"
            fill="#fecaca"
            stroke="#b91c1c"
          />`
    }
    ${ticks.map(
      (t) =>
        html`<line x1="${x(t)}" y1="${axisY + 8}" x2="${x(t)}" y2="${axisY + 12}" stroke="#6b7280" />
          <text x="${x(t)}" y="${axisY + 24}" font-size="11" text-anchor="middle" fill="#374151"
            >${secondsText(t)}</text
          >`,
    )}
    ${labelled.map(
      (m) =>
        html`<line
            x1="${x(m.at)}"
            y1="${Math.min(axisY, lineTo[m.row]!)}"
            x2="${x(m.at)}"
            y2="${Math.max(axisY, lineTo[m.row]!)}"
            stroke="${COLORS[m.kind]}"
            stroke-width="2"
          />
          <circle cx="${x(m.at)}" cy="${axisY}" r="4" fill="${COLORS[m.kind]}" />
          <text x="${x(m.at)}" y="${labelY[m.row]}" font-size="11" text-anchor="${m.anchor}" fill="#111827">
            ${m.shown}
          </text>`,
    )}
    <g font-size="11" fill="#374151">
      <rect x="${left}" y="${axisY + 58}" width="10" height="8" fill="#fde68a" stroke="#b45309" />
      <text x="${left + 14}" y="${axisY + 66}">not fully Ready</text>
      <rect x="${left + 110}" y="${axisY + 58}" width="10" height="8" fill="#bbf7d0" />
      <text x="${left + 124}" y="${axisY + 66}">Ready again</text>
      <rect x="${left + 205}" y="${axisY + 58}" width="10" height="8" fill="#fecaca" stroke="#b91c1c" />
      <text x="${left + 219}" y="${axisY + 66}">not Ready when the drill ended</text>
    </g>
  </svg>`;
}

function niceTicks(from: number, to: number): number[] {
  const span = to - from;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => span / s <= 6) ?? Math.ceil(span / 6);
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to + 1e-9; t += step) out.push(Math.round(t * 10) / 10);
  return out;
}

/** The drills section of the submission page. */
export function drillsHtml(report: Report): Html {
  const drills = drillTimelines(report);
  const stage = report.stages.find((s) => s.name === 'cluster');
  if (drills.length === 0) {
    return html`<p>No failure drill ran${stage?.message ? html` (${stage.message})` : ''}.</p>`;
  }
  return html`<ol class="drills">
    ${drills.map(
      (d) =>
        html`<li class="drill">
          <h3>${d.scenario} <span class="id">${d.checkId}</span></h3>
          <figure class="drill-figure">
            ${timelineSvg(d)}
            <figcaption>${d.narrative || describeTimeline(d)}</figcaption>
          </figure>
          <dl class="drill-facts">
            ${
              d.notReadySeconds !== undefined
                ? html`<dt>NotReady</dt>
                    <dd>${secondsText(d.notReadySeconds)} after the fault was injected</dd>`
                : ''
            }
            <dt>Recovery</dt>
            <dd>
              ${d.recoverySeconds !== undefined ? secondsText(d.recoverySeconds) : d.marks.some((m) => m.kind === 'ready') ? 'see the timeline' : 'did not recover in time'}
            </dd>
            ${
              d.probe
                ? html`<dt>Probe success</dt>
                    <dd>${d.probe.ok}/${d.probe.total} requests (${d.probe.percent}%)</dd>
                    <dt>Longest outage</dt>
                    <dd>
                      ${d.probe.longestOutageSeconds !== undefined ? secondsText(d.probe.longestOutageSeconds) : 'not recorded'}
                    </dd>`
                : ''
            }
            ${
              d.notMeaningful
                ? html`<dt>Not graded</dt>
                    <dd>${d.notMeaningful}</dd>`
                : ''
            }
          </dl>
          <details>
            <summary>The timeline as text, commands and events</summary>
            <ol class="marks">
              ${d.marks.map((m) => html`<li>${m.at < 0 ? '' : '+'}${secondsText(m.at)}: ${m.label}</li>`)}
            </ol>
            ${d.details.map(
              (x) =>
                html`<p><strong>${x.label}</strong></p>
                  <pre>${x.detail}</pre>`,
            )}
          </details>
        </li>`,
    )}
  </ol>`;
}
