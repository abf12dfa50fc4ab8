/**
 * Charts as SVG rendered on the server with Observable Plot (linkedom as the
 * DOM): no script, no CDN. Each chart is a <figure> with a caption, the SVG
 * marked role="img" with an aria-label, and its numbers as a table for
 * screen readers and anyone who prefers to read them.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { LabCharts } from './queries.js';
import { html, raw, type Html } from './html.js';

const { document } = parseHTML('<!doctype html><html><body></body></html>');

/** What is used of the DOM node Plot returns (linkedom's). */
interface PlotNode {
  tagName: string;
  outerHTML: string;
  querySelectorAll(selector: string): Iterable<PlotNode>;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
}

function svgOf(options: Plot.PlotOptions, label: string): Html {
  const node = Plot.plot({ ...options, document } as Plot.PlotOptions) as unknown as PlotNode;
  // With a legend Plot answers a <figure> of swatches and the chart: the chart is its last <svg>.
  const svgs = node.tagName.toLowerCase() === 'svg' ? [node] : [...node.querySelectorAll('svg')];
  const chart = svgs[svgs.length - 1]!;
  for (const swatch of svgs.slice(0, -1)) swatch.setAttribute('aria-hidden', 'true');
  // The chart is one image with one text alternative: Plot's labels on its groups are not allowed inside role="img".
  for (const inner of chart.querySelectorAll('[aria-label], [aria-description]')) {
    inner.removeAttribute('aria-label');
    inner.removeAttribute('aria-description');
  }
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', label);
  return raw(node.outerHTML);
}

function figure(id: string, caption: string, chart: Html | undefined, table: Html, empty: string): Html {
  return html`<figure class="chart" id="${id}">
    <figcaption>${caption}</figcaption>
    ${chart ?? html`<p class="empty">${empty}</p>`}
    <details>
      <summary>The numbers</summary>
      ${table}
    </details>
  </figure>`;
}

const base = { width: 560, height: 230, marginLeft: 48, marginBottom: 48, style: { fontSize: '12px' } };

export function scoreDistribution(charts: LabCharts): Html {
  const bins = Array.from({ length: 10 }, (_, i) => ({
    band: `${i * 10}–${i === 9 ? 100 : i * 10 + 9}%`,
    students: charts.scores.filter((s) => Math.min(9, Math.floor(s.percent / 10)) === i).length,
  }));
  const label = `Score distribution: ${bins.map((b) => `${b.students} students at ${b.band}`).join(', ')}`;
  const chart =
    charts.scores.length > 0
      ? svgOf(
          {
            ...base,
            x: { label: null, domain: bins.map((b) => b.band), tickRotate: -30 },
            y: { label: 'students', grid: true },
            marks: [Plot.barY(bins, { x: 'band', y: 'students', fill: '#2563eb' }), Plot.ruleY([0])],
          },
          label,
        )
      : undefined;
  const table = html`<table>
    <thead>
      <tr>
        <th scope="col">Score</th>
        <th scope="col">Students</th>
      </tr>
    </thead>
    <tbody>
      ${bins.map(
        (b) =>
          html`<tr>
            <td>${b.band}</td>
            <td>${b.students}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
  return figure(
    'chart-scores',
    'Score distribution: students per score band (what counts for each)',
    chart,
    table,
    'No graded submissions yet.',
  );
}

export function criterionPassRates(charts: LabCharts): Html {
  const rows = charts.criteria.flatMap((c) => {
    const total = c.passed + c.partial + c.failed + c.other || 1;
    return [
      { criterion: c.id, result: 'passed', share: c.passed / total },
      { criterion: c.id, result: 'partial', share: c.partial / total },
      { criterion: c.id, result: 'failed', share: c.failed / total },
    ];
  });
  const label = `Pass rate per criterion: ${charts.criteria
    .map((c) => `${c.id} ${c.passed} passed, ${c.partial} partial, ${c.failed} failed`)
    .join('; ')}`;
  const chart =
    charts.criteria.length > 0
      ? svgOf(
          {
            ...base,
            height: 40 + charts.criteria.length * 26,
            marginLeft: 170,
            x: { label: 'share of students', percent: true, domain: [0, 100] },
            y: { label: null },
            color: { domain: ['passed', 'partial', 'failed'], range: ['#15803d', '#b45309', '#b91c1c'], legend: true },
            marks: [Plot.barX(rows, { y: 'criterion', x: 'share', fill: 'result', sort: { y: null } })],
          },
          label,
        )
      : undefined;
  const table = html`<table>
    <thead>
      <tr>
        <th scope="col">Criterion</th>
        <th scope="col">Passed</th>
        <th scope="col">Partial</th>
        <th scope="col">Failed</th>
      </tr>
    </thead>
    <tbody>
      ${charts.criteria.map(
        (c) =>
          html`<tr>
            <td>${c.id}</td>
            <td>${c.passed}</td>
            <td>${c.partial}</td>
            <td>${c.failed}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
  return figure('chart-criteria', 'Pass rate per criterion', chart, table, 'No graded submissions yet.');
}

export function checkPassRates(charts: LabCharts): Html {
  const rows = charts.checks
    .filter((c) => c.gradings > 0)
    .map((c) => ({ check: c.id, rate: c.allPassed / c.gradings, passed: c.allPassed, of: c.gradings }))
    .sort((a, b) => a.rate - b.rate);
  const label = `Share of students passing each check, hardest first: ${rows
    .map((r) => `${r.check} ${Math.round(r.rate * 100)}%`)
    .join(', ')}`;
  const chart =
    rows.length > 0
      ? svgOf(
          {
            ...base,
            height: 40 + rows.length * 20,
            marginLeft: 230,
            x: { label: 'students passing everything the check examined', percent: true, domain: [0, 100] },
            y: { label: null },
            marks: [Plot.barX(rows, { y: 'check', x: 'rate', fill: '#7c3aed', sort: { y: null } }), Plot.ruleX([0])],
          },
          label,
        )
      : undefined;
  const table = html`<table>
    <thead>
      <tr>
        <th scope="col">Check</th>
        <th scope="col">Students passing</th>
        <th scope="col">Examined in</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr>
            <td>${r.check}</td>
            <td>${r.passed}</td>
            <td>${r.of}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
  return figure(
    'chart-checks',
    'Which checks the class struggles with (pass rate per check)',
    chart,
    table,
    'No checks examined anything yet.',
  );
}

export function recoveryTimes(charts: LabCharts): Html {
  const label = `Recovery times measured by the failure drills: ${charts.recoveries
    .map((r) => `${r.drill} ${r.seconds} s`)
    .join(', ')}`;
  const chart =
    charts.recoveries.length > 0
      ? svgOf(
          {
            ...base,
            marginLeft: 110,
            x: { label: 'seconds to recover', grid: true },
            y: { label: null },
            marks: [Plot.dot(charts.recoveries, { x: 'seconds', y: 'drill', fill: '#0f766e', r: 4 }), Plot.ruleX([0])],
          },
          label,
        )
      : undefined;
  const table = html`<table>
    <thead>
      <tr>
        <th scope="col">Drill</th>
        <th scope="col">Seconds</th>
      </tr>
    </thead>
    <tbody>
      ${charts.recoveries.map(
        (r) =>
          html`<tr>
            <td>${r.drill}</td>
            <td>${r.seconds}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
  return figure(
    'chart-recovery',
    'Recovery times from the failure drills',
    chart,
    table,
    'No drill measured a recovery (the cluster stage did not run).',
  );
}

export function pushesOverTime(charts: LabCharts): Html {
  const rows = charts.pushes.flatMap((p) => [
    { hour: new Date(p.hour), kind: 'on time', pushes: p.pushes - p.late },
    { hour: new Date(p.hour), kind: 'late', pushes: p.late },
  ]);
  const label = `Submissions per hour: ${charts.pushes.map((p) => `${p.hour} ${p.pushes} (${p.late} late)`).join(', ')}`;
  const chart =
    charts.pushes.length > 0
      ? svgOf(
          {
            ...base,
            x: { label: 'pushed (UTC)', type: 'utc' },
            y: { label: 'pushes', grid: true },
            color: { domain: ['on time', 'late'], range: ['#2563eb', '#b91c1c'], legend: true },
            marks: [
              Plot.rectY(rows, {
                x1: 'hour',
                x2: (d: { hour: Date }) => new Date(d.hour.getTime() + 3600_000),
                y: 'pushes',
                fill: 'kind',
              }),
              ...(charts.deadline
                ? [Plot.ruleX([new Date(charts.deadline)], { stroke: '#111827', strokeDasharray: '4 3' })]
                : []),
              Plot.ruleY([0]),
            ],
          },
          label,
        )
      : undefined;
  const table = html`<table>
    <thead>
      <tr>
        <th scope="col">Hour (UTC)</th>
        <th scope="col">Pushes</th>
        <th scope="col">Late</th>
      </tr>
    </thead>
    <tbody>
      ${charts.pushes.map(
        (p) =>
          html`<tr>
            <td>${p.hour}</td>
            <td>${p.pushes}</td>
            <td>${p.late}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
  return figure(
    'chart-pushes',
    `Submissions over time${charts.deadline ? ' (dashed line: the deadline)' : ''}`,
    chart,
    table,
    'No pushes yet.',
  );
}
