// Checks the report the compose test's worker stored (JSON on stdin: the row's status and report)
// against the rubric: every criterion of rubrics/lab-85.yaml is in the report and graded
// (passed, partial or failed: not skipped, not not-gradable), the cluster ones included, and
// the passing example's criteria outside the cluster stage all passed.
//   node test/compose/check-report.mjs rubrics/lab-85.yaml < row.json
// Prints one `ok …` / `FAIL …` line per check and exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const rubric = parse(readFileSync(process.argv[2], 'utf8'));
const row = JSON.parse(readFileSync(0, 'utf8'));
const report = row.report;
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAIL'} ${what}`);
  if (!ok) failed++;
};

check(
  row.status === 'graded',
  `stored report status is graded (got ${row.status}${row.not_gradable_reason ? `: ${row.not_gradable_reason}` : ''})`,
);
const byId = new Map((report.criteria ?? []).map((c) => [c.id, c]));
const ids = rubric.criteria.map((c) => c.id);
const GRADED = new Set(['passed', 'partial', 'failed']);
for (const id of ids) {
  const c = byId.get(id);
  if (!c) {
    check(false, `criterion ${id} is in the report`);
    continue;
  }
  const detail = `${c.stage} ${c.status} ${c.points}/${c.maxPoints}${c.status === 'skipped' || c.status === 'not-gradable' ? ` (${c.reason ?? c.summary ?? ''})` : ''}`;
  check(GRADED.has(c.status), `criterion ${id} graded: ${detail}`);
  if (c.stage !== 'cluster') check(c.status === 'passed', `criterion ${id} (${c.stage}) passed on the passing example`);
}
const cluster = [...byId.values()].filter((c) => c.stage === 'cluster');
check(cluster.length > 0 && cluster.every((c) => GRADED.has(c.status)), `${cluster.length} cluster criteria graded`);
check(
  report.criteria.length === ids.length,
  `the report has exactly the rubric's ${ids.length} criteria (got ${report.criteria.length})`,
);
console.log(`points ${row.points}/${row.max_points} (${row.percent}%)`);
process.exit(failed === 0 ? 0 : 1);
