/**
 * The server-rendered pages. Plain HTML and one stylesheet and one small
 * script (assets/, bundled into dist/assets by `npm run build`): the pages
 * work without the script; it adds live status (server-sent events) and
 * regrade progress.
 */
import { excerptAround, type ReportFinding, type SourceExcerpts } from '@labgrader/core';
import type { CriterionScore, StoredReport, StoredReportSummary } from '@labgrader/store';
import type { Viewer } from './auth.js';
import { checkPassRates, criterionPassRates, pushesOverTime, recoveryTimes, scoreDistribution } from './charts.js';
import type { GradingDiff, LabSummary, Overview } from './data.js';
import { drillsHtml } from './drills.js';
import { esc, html, raw, type Html } from './html.js';
import type { LabCharts, OverviewPage, OverviewQuery } from './queries.js';
import type { SORT_KEYS } from './queries.js';

export interface PageContext {
  viewer?: Viewer;
  title: string;
  githubWebUrl: string;
  /** For the live script: which lab's events to follow. */
  liveLab?: string;
}

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;
const short = (sha: string) => sha.slice(0, 7);
const when = (iso: string) => html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;

export function layout(ctx: PageContext, body: Html): string {
  const v = ctx.viewer;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${ctx.title} · labgrader</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body${v?.csrf ? html` data-csrf="${v.csrf}"` : ''}${ctx.liveLab ? html` data-live-lab="${ctx.liveLab}"` : ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">labgrader</a>
  <nav aria-label="Account">${
    v
      ? html`<span>Signed in as <strong>${v.login}</strong> (${v.role})</span>
          <form method="post" action="/sign-out">
            <input type="hidden" name="_csrf" value="${v.csrf ?? ''}" /><button type="submit">Sign out</button>
          </form>`
      : ''
  }</nav>
</header>
<main id="main" tabindex="-1">
${body}
</main>
<div id="live-region" class="visually-hidden" aria-live="polite"></div>
</body></html>`}`;
}

export function signInPage(
  ctx: PageContext,
  o: { formToken: string; next: string; admin: boolean; github: boolean; error?: string },
): string {
  return layout(
    ctx,
    html`<h1>Sign in</h1>
      ${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
      ${o.github ? html`<p><a class="button primary" href="/auth/github?next=${encodeURIComponent(o.next)}">Sign in with GitHub</a></p>` : ''}
      ${
        o.admin
          ? html`<form method="post" action="/sign-in" class="stack">
              <input type="hidden" name="_csrf" value="${o.formToken}" />
              <input type="hidden" name="next" value="${o.next}" />
              <label for="token">Admin token</label>
              <input id="token" name="token" type="password" autocomplete="current-password" required />
              <button type="submit">Sign in with the admin token</button>
            </form>`
          : ''
      }`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): string {
  return layout(
    ctx,
    html`<h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1>
      <p>${message}</p>
      <p><a href="/">Back to the labs</a></p>`,
  );
}

export function labsPage(ctx: PageContext, labs: LabSummary[]): string {
  const instructor = ctx.viewer?.role === 'instructor';
  return layout(
    ctx,
    html`<h1>Labs</h1>
      ${labs.length === 0 ? html`<p>Nothing graded yet.</p>` : ''}
      <ul class="cards">
        ${labs.map(
          (l) =>
            html`<li class="card">
              <h2>
                <a
                  href="${instructor ? `/labs/${l.id}` : `/students/${encodeURIComponent(ctx.viewer!.login)}?lab=${l.id}`}"
                  >${l.title}</a
                >
              </h2>
              <p>${l.id}${l.deadline ? html` · deadline ${when(l.deadline)}` : ''}</p>
              ${instructor ? html`<p>${l.students} students · ${l.gradings} gradings</p>` : ''}
            </li>`,
        )}
      </ul>
      ${!instructor && ctx.viewer ? html`<p><a href="/students/${encodeURIComponent(ctx.viewer.login)}">My submissions</a></p>` : ''}`,
  );
}

function liveText(row: { live?: { state: string; stage?: string } }): string {
  if (!row.live) return '';
  return row.live.stage ? `${row.live.state}: ${row.live.stage}` : row.live.state;
}

function criterionCell(c: CriterionScore | undefined): Html {
  if (!c) return html`<td class="num">–</td>`;
  return html`<td class="num crit-${c.status}" title="${c.status}">
    ${c.points}<span class="of">/${c.maxPoints}</span>
  </td>`;
}

export function overviewPage(
  ctx: PageContext,
  overview: Overview,
  page: OverviewPage,
  q: OverviewQuery,
  charts: Html,
): string {
  const lab = overview.lab;
  const link = (changes: Partial<Record<string, string | undefined>>) => {
    const params = new URLSearchParams();
    const merged = { sort: q.sort, order: q.order, status: q.status, late: q.late, q: q.q, ...changes };
    for (const [k, v] of Object.entries(merged)) if (v) params.set(k, String(v));
    return `/labs/${lab.id}?${params.toString()}`;
  };
  const sortHeader = (key: (typeof SORT_KEYS)[number], label: string) => {
    const active = q.sort === key;
    const order = q.order ?? (key === 'student' ? 'asc' : 'desc');
    const next = active && order === 'asc' ? 'desc' : active ? 'asc' : undefined;
    return html`<th scope="col" ${active ? html`aria-sort="${order === 'asc' ? 'ascending' : 'descending'}"` : ''}>
      <a href="${link({ sort: key, order: next, cursor: undefined })}">${label}</a>
    </th>`;
  };
  return layout(
    { ...ctx, liveLab: lab.id },
    html`<nav aria-label="Breadcrumb" class="crumbs"><a href="/">Labs</a> › ${lab.id}</nav>
      <h1>${lab.title}</h1>
      <p class="meta">
        ${page.total} of ${overview.rows.length} students${lab.deadline ? html` · deadline ${when(lab.deadline)}` : ''}
        · <a href="/api/v1/labs/${lab.id}/grades.csv" download>Download CSV</a> ·
        <a href="/api/v1/labs/${lab.id}/grades.csv?format=canvas" download>CSV for Canvas</a> ·
        <a href="/api/v1/labs/${lab.id}/grades.json" download>JSON</a>
      </p>
      <form method="get" action="/labs/${lab.id}" class="filters" role="search">
        <label for="q">Search</label><input id="q" name="q" type="search" value="${q.q ?? ''}" maxlength="100" />
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="">any</option>
          ${['graded', 'not-gradable'].map(
            (s) => html`<option value="${s}" ${q.status === s ? ' selected' : ''}>${s}</option>`,
          )}
        </select>
        <label for="late">Deadline</label>
        <select id="late" name="late">
          <option value="">any</option>
          <option value="true" ${q.late === 'true' ? ' selected' : ''}>late</option>
          <option value="false" ${q.late === 'false' ? ' selected' : ''}>on time</option>
        </select>
        <input type="hidden" name="sort" value="${q.sort}" />
        <button type="submit">Apply</button>
      </form>
      <form method="post" action="/labs/${lab.id}/regrade" class="regrade" data-regrade>
        <input type="hidden" name="_csrf" value="${ctx.viewer?.csrf ?? ''}" />
        <button type="submit">Regrade every student’s latest push</button>
        <span class="progress" data-progress role="status"></span>
      </form>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Students and their scores">
        <table class="overview">
          <caption class="visually-hidden">
            ${lab.title}: each student’s counting grading
          </caption>
          <thead>
            <tr>
              ${sortHeader('student', 'Student')} ${sortHeader('percent', 'Total')} ${sortHeader('late', 'Late')}
              <th scope="col">Status</th>
              ${overview.criteria.map((c) => html`<th scope="col" class="num crit">${c.id.replaceAll('-', '-\u200b')}</th>`)}
              ${sortHeader('submissions', 'Submissions')} ${sortHeader('pushedAt', 'Pushed')}
            </tr>
          </thead>
          <tbody>
            ${page.items.map(
              (r) =>
                html`<tr data-student="${r.student}">
                  <th scope="row">
                    <a href="/gradings/${r.gradingId}">${r.student}</a
                    >${r.name ? html` <span class="name">${r.name}</span>` : ''}
                  </th>
                  <td class="num total">
                    ${r.status === 'graded' ? html`${r.points}<span class="of">/${r.maxPoints}</span> <span class="pct">${pct(r.percent)}</span>` : html`<span class="badge warn">not gradable</span>`}
                  </td>
                  <td>
                    ${r.late ? html`<span class="badge late">${r.deadline}</span>` : r.deadline ? 'on time' : '–'}${r.latestNotAccepted ? html` <span class="badge late" title="the latest push came after the cutoff and does not count">later push refused</span>` : ''}
                  </td>
                  <td class="live" data-live>${liveText(r) || r.status}</td>
                  ${overview.criteria.map((c) => criterionCell(r.criteria.find((x) => x.id === c.id)))}
                  <td class="num">
                    <a href="/students/${encodeURIComponent(r.student)}?lab=${lab.id}">${r.submissions}</a>
                  </td>
                  <td>${when(r.pushedAt)} <code>${short(r.commit)}</code></td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${page.nextCursor ? html`<p><a href="${link({ cursor: page.nextCursor })}" rel="next">Next page</a></p>` : ''}
      <h2>The class at a glance</h2>
      <div class="charts">${charts}</div>`,
  );
}

function findingsByFile(findings: readonly ReportFinding[]): Map<string, ReportFinding[]> {
  const groups = new Map<string, ReportFinding[]>();
  for (const f of findings) {
    const file = f.location?.file ?? '(the repository)';
    groups.set(file, [...(groups.get(file) ?? []), f]);
  }
  return groups;
}

/**
 * The lines around a finding, from the excerpts the worker kept with the grading (redacted when
 * stored: see core's excerpts.ts); nothing for gradings from before excerpts were kept.
 */
function sourceContext(excerpts: SourceExcerpts | undefined, file: string, line: number | undefined): Html {
  if (!line) return html``;
  const lines = excerptAround(excerpts, file, line);
  if (!lines) return html``;
  const from = lines[0]!.number;
  const to = lines[lines.length - 1]!.number;
  // Built as a plain string: the newlines between the lines are the <pre>'s content (and what a copy keeps).
  const body = lines
    .map((l) => {
      const hit = l.number === line;
      return `<span${hit ? ' class="hit" aria-current="true"' : ''}><span class="ln" aria-hidden="true">${l.number}</span>${esc(l.text)}</span>`;
    })
    .join('\n');
  return html`<pre
    class="source"
    tabindex="0"
    aria-label="${file} lines ${from} to ${to}, line ${line} highlighted"
  ><code>${raw(body)}</code></pre>`;
}

export interface SubmissionView {
  grading: StoredReport;
  regrades: StoredReportSummary[];
}

/** A fix hint: prose, with Markdown code fences shown as code blocks. */
function fixHint(text: string): Html {
  const parts = text.split(/^```[a-z]*\n?/m);
  return html`<div class="hint">
    ${parts.map((part, i) =>
      i % 2 === 1
        ? html`<pre><code>${part.replace(/\n$/, '')}</code></pre>`
        : part.trim()
          ? html`<p>${part.trim()}</p>`
          : '',
    )}
  </div>`;
}

export function submissionPage(ctx: PageContext, view: SubmissionView): string {
  const g = view.grading;
  const r = g.report;
  const instructor = ctx.viewer?.role === 'instructor';
  const commitUrl = `${ctx.githubWebUrl}/${g.repository}/commit/${g.commit}`;
  const checksUrl = `${ctx.githubWebUrl}/${g.repository}/commit/${g.commit}/checks`;
  const groups = findingsByFile(r.findings);
  const stageMax = Math.max(1, ...r.stages.map((s) => s.durationMs));
  return layout(
    { ...ctx, liveLab: g.labId },
    html`<nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Labs</a> › ${instructor ? html`<a href="/labs/${g.labId}">${g.labId}</a>` : g.labId} ›
        <a href="/students/${encodeURIComponent(g.student)}">${g.student}</a> › grading ${g.id}
      </nav>
      <h1>${g.repository} <code>${short(g.commit)}</code></h1>
      <p class="score">
        ${g.status === 'graded' ? html`<strong>${g.points}</strong> / ${g.maxPoints} points (${pct(g.percent)})` : html`<span class="badge warn">not gradable</span> ${g.notGradableReason ?? ''}`}
        ${g.deadline ? html` · <span class="badge ${g.deadline.status === 'on-time' ? 'ok' : 'late'}">${g.deadline.status}</span>` : ''}
      </p>
      <p class="meta">
        Pushed ${when(g.pushedAt)} · graded ${when(g.gradedAt)} · ${g.event}${g.reason ? html` (${g.reason})` : ''} ·
        <a href="${commitUrl}">commit on GitHub</a> · <a href="${checksUrl}">check run</a> ·
        <a href="/api/v1/gradings/${g.id}/report.json" download>report JSON</a> ·
        <a href="/api/v1/gradings/${g.id}/report.sarif" download>SARIF</a>
      </p>
      ${
        instructor
          ? html`<form method="post" action="/gradings/${g.id}/regrade" class="regrade" data-regrade>
              <input type="hidden" name="_csrf" value="${ctx.viewer?.csrf ?? ''}" />
              <button type="submit">Regrade this commit</button>
              <span class="progress" data-progress role="status"></span>
            </form>`
          : ''
      }
      <section aria-labelledby="criteria-h">
        <h2 id="criteria-h">Criteria</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Criterion</th>
              <th scope="col" class="num">Points</th>
              <th scope="col">Status</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            ${r.criteria.map(
              (c) =>
                html`<tr>
                  <th scope="row">${c.title} <span class="id">${c.id}</span></th>
                  <td class="num">${c.points}/${c.maxPoints}</td>
                  <td class="crit-${c.status}">${c.status}</td>
                  <td>${c.summary}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="findings-h">
        <h2 id="findings-h">Findings (${r.findings.length})</h2>
        ${r.findings.length === 0 ? html`<p>No findings.</p>` : ''}
        ${[...groups].map(
          ([file, findings]) =>
            html`<details class="file" open>
              <summary><code>${file}</code> · ${findings.length}</summary>
              <ul class="findings">
                ${findings.map(
                  (f) =>
                    html`<li class="sev-${f.severity}">
                      <p>
                        <span class="badge sev">${f.severity}</span>
                        <code>${f.checkId}</code>${f.location ? html` line ${f.location.line}` : ''}: ${f.message}
                      </p>
                      ${sourceContext(g.excerpts, file, f.location?.line)} ${f.fixHint ? fixHint(f.fixHint) : ''}
                    </li>`,
                )}
              </ul>
            </details>`,
        )}
      </section>
      <section aria-labelledby="drills-h">
        <h2 id="drills-h">Failure drills</h2>
        ${drillsHtml(r)}
      </section>
      <section aria-labelledby="stages-h">
        <h2 id="stages-h">Stages</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">Time</th>
              <th scope="col"><span class="visually-hidden">Share of the grading</span></th>
            </tr>
          </thead>
          <tbody>
            ${r.stages.map(
              (s) =>
                html`<tr>
                  <th scope="row">${s.name}</th>
                  <td>${s.status}${s.message ? html` <span class="name">${s.message}</span>` : ''}</td>
                  <td class="num">${(s.durationMs / 1000).toFixed(2)} s</td>
                  <td>
                    <svg
                      class="bar"
                      width="120"
                      height="10"
                      role="img"
                      aria-label="${Math.round((s.durationMs / stageMax) * 100)}% of the longest stage"
                    >
                      <rect
                        width="${Math.max(1, Math.round((s.durationMs / stageMax) * 120))}"
                        height="10"
                        fill="#2563eb"
                      ></rect>
                    </svg>
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="history-h">
        <h2 id="history-h">Gradings of this commit</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Graded</th>
              <th scope="col">Why</th>
              <th scope="col" class="num">Score</th>
              <th scope="col" class="num">Change</th>
            </tr>
          </thead>
          <tbody>
            ${view.regrades.map((h, i) => {
              const prev = view.regrades[i - 1];
              const delta = prev ? h.points - prev.points : undefined;
              return html`<tr${h.id === g.id ? html` aria-current="true" class="current"` : ''}><td>${h.gradeCount}</td><td><a href="/gradings/${h.id}">${when(h.gradedAt)}</a></td><td>${h.reason ?? h.event}</td><td class="num">${h.points}/${h.maxPoints}</td><td class="num">${delta === undefined ? '' : delta === 0 ? '±0' : delta > 0 ? `+${delta}` : String(delta)}</td></tr>`;
            })}
          </tbody>
        </table>
      </section>`,
  );
}

/** The overview's charts (rendered once per version of the lab's gradings: see app.ts). */
export function chartsHtml(charts: LabCharts): Html {
  return html`${scoreDistribution(charts)} ${criterionPassRates(charts)} ${checkPassRates(charts)}
  ${recoveryTimes(charts)} ${pushesOverTime(charts)}`;
}

export function studentPage(
  ctx: PageContext,
  o: {
    student: string;
    name?: string;
    labId?: string;
    gradings: (StoredReportSummary & { findingCount: number })[];
    diff?: GradingDiff;
  },
): string {
  const list = o.gradings;
  const defaultFrom = list[1]?.id;
  const defaultTo = list[0]?.id;
  const fromId = o.diff?.from.id ?? defaultFrom;
  const toId = o.diff?.to.id ?? defaultTo;
  const option = (g: StoredReportSummary, selected: string | undefined) =>
    html`<option value="${g.id}" ${g.id === selected ? ' selected' : ''}>
      ${g.labId} ${short(g.commit)} ${g.pushedAt.slice(0, 16)} (${g.points}/${g.maxPoints})
    </option>`;
  return layout(
    ctx,
    html`<nav aria-label="Breadcrumb" class="crumbs"><a href="/">Labs</a> › ${o.student}</nav>
      <h1>${o.name ? html`${o.name} <span class="name">${o.student}</span>` : o.student}</h1>
      <section aria-labelledby="subs-h">
        <h2 id="subs-h">Submissions${o.labId ? html` in ${o.labId}` : ''}</h2>
        ${list.length === 0 ? html`<p>No gradings.</p>` : ''}
        <table>
          <thead>
            <tr>
              <th scope="col">Pushed</th>
              <th scope="col">Lab</th>
              <th scope="col">Commit</th>
              <th scope="col" class="num">Score</th>
              <th scope="col" class="num">Findings</th>
              <th scope="col">Deadline</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            ${list.map(
              (g) =>
                html`<tr>
                  <td><a href="/gradings/${g.id}">${when(g.pushedAt)}</a></td>
                  <td>${g.labId}</td>
                  <td><code>${short(g.commit)}</code></td>
                  <td class="num">${g.status === 'graded' ? html`${g.points}/${g.maxPoints}` : 'not gradable'}</td>
                  <td class="num">${g.findingCount}</td>
                  <td>${g.deadline?.status ?? '–'}</td>
                  <td>${g.reason ?? g.event}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      ${
        list.length >= 2
          ? html`<section aria-labelledby="diff-h">
              <h2 id="diff-h">What changed between two gradings</h2>
              <form method="get" class="filters">
                ${o.labId ? html`<input type="hidden" name="lab" value="${o.labId}" />` : ''}
                <label for="from">From</label
                ><select id="from" name="from">
                  ${list.map((g) => option(g, fromId))}
                </select>
                <label for="to">To</label
                ><select id="to" name="to">
                  ${list.map((g) => option(g, toId))}
                </select>
                <button type="submit">Compare</button>
              </form>
              ${
                o.diff
                  ? html`<p>
                        ${o.diff.fixed.length} fixed, ${o.diff.added.length} new, ${o.diff.unchanged} unchanged · score
                        ${o.diff.from.points} → ${o.diff.to.points}
                      </p>
                      <div class="diff">
                        <div>
                          <h3>Fixed</h3>
                          <ul>
                            ${o.diff.fixed.map((f) => html`<li class="fixed"><code>${f.checkId}</code> ${f.file ? html`<code>${f.file}:${f.line ?? ''}</code>` : ''} ${f.message}</li>`)}
                          </ul>
                          ${o.diff.fixed.length === 0 ? html`<p>None.</p>` : ''}
                        </div>
                        <div>
                          <h3>New</h3>
                          <ul>
                            ${o.diff.added.map((f) => html`<li class="added"><code>${f.checkId}</code> ${f.file ? html`<code>${f.file}:${f.line ?? ''}</code>` : ''} ${f.message}</li>`)}
                          </ul>
                          ${o.diff.added.length === 0 ? html`<p>None.</p>` : ''}
                        </div>
                      </div>`
                  : ''
              }
            </section>`
          : ''
      }`,
  );
}

export { esc };
