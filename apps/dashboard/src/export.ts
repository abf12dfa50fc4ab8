/**
 * A lab's grades as CSV and JSON: one row per student, what counts for them.
 *
 * CSV columns: `github_login`, `name`, `email`, `student_id` (from the course
 * roster when known), one column per criterion (`criterion:<id>`, points),
 * `total`, `max_points`, `percent`, `late` (yes/no), `deadline_status`,
 * `submitted_at` (GitHub's push time, ISO 8601 UTC), `commit`, `repository`,
 * `grading_id`. UTF-8, CRLF, RFC 4180 quoting; a cell a spreadsheet would
 * read as a formula (`= + - @`, tab, CR) is prefixed with `'`.
 * Moodle's "Import grades from CSV" maps `email` (or `student_id` to ID
 * number) and the `total` column; see docs/dashboard.md.
 */
import { rosterEntry, type CourseConfig } from '@labgrader/course';
import type { Overview } from './data.js';

export interface ExportRow {
  githubLogin: string;
  name?: string;
  email?: string;
  studentId?: string;
  criteria: Record<string, number>;
  total: number;
  maxPoints: number;
  percent: number;
  late: boolean;
  deadlineStatus: string | null;
  submittedAt: string;
  commit: string;
  repository: string;
  gradingId: string;
}

export function exportRows(overview: Overview, course: CourseConfig): ExportRow[] {
  return overview.rows.map((row) => {
    const roster = rosterEntry(course, row.student);
    return {
      githubLogin: row.student,
      ...(roster?.name ? { name: roster.name } : {}),
      ...(roster?.email ? { email: roster.email } : {}),
      ...(roster?.studentId ? { studentId: roster.studentId } : {}),
      criteria: Object.fromEntries(row.criteria.map((c) => [c.id, c.points])),
      total: row.points,
      maxPoints: row.maxPoints,
      percent: Math.round(row.percent * 100) / 100,
      late: row.late,
      deadlineStatus: row.deadline,
      submittedAt: row.pushedAt,
      commit: row.commit,
      repository: row.repository,
      gradingId: row.gradingId,
    };
  });
}

function cell(value: string | number | undefined | null): string {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(overview: Overview, rows: readonly ExportRow[]): string {
  const criteria = overview.criteria.map((c) => c.id);
  const header = [
    'github_login',
    'name',
    'email',
    'student_id',
    ...criteria.map((id) => `criterion:${id}`),
    'total',
    'max_points',
    'percent',
    'late',
    'deadline_status',
    'submitted_at',
    'commit',
    'repository',
    'grading_id',
  ];
  const lines = [header.map(cell).join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.githubLogin,
        r.name,
        r.email,
        r.studentId,
        ...criteria.map((id) => r.criteria[id]),
        r.total,
        r.maxPoints,
        r.percent,
        r.late ? 'yes' : 'no',
        r.deadlineStatus,
        r.submittedAt,
        r.commit,
        r.repository,
        r.gradingId,
      ]
        .map(cell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Canvas's gradebook import (Grades → Import): the columns of Canvas's own export, `Student`, `ID`,
 * `SIS User ID`, `SIS Login ID`, `Section`, then one column per assignment (the lab): `Name` to create
 * it, `Name (id)` to fill the assignment with that Canvas id; and a `Points Possible` row under the
 * header. Canvas finds each student by `ID` (its own user id, which labgrader does not know: left
 * empty), `SIS User ID` (the roster's `studentId`) or `SIS Login ID` (the roster's `email`). A
 * not-gradable student's cell is empty (no score), not 0. Students without a roster entry keep their
 * login as `Student` (Canvas can only match them by name).
 */
export function toCanvasCsv(
  overview: Overview,
  rows: readonly ExportRow[],
  options: { assignmentId?: string } = {},
): string {
  const lab = overview.lab;
  const assignment = options.assignmentId ? `${lab.title} (${options.assignmentId})` : lab.title;
  const possible = Math.max(0, ...overview.rows.filter((r) => r.status === 'graded').map((r) => r.maxPoints));
  const lines = [
    ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', assignment].map(cell).join(','),
    ['Points Possible', '', '', '', '', possible].map(cell).join(','),
  ];
  const statusOf = new Map(overview.rows.map((r) => [r.student, r.status]));
  for (const r of rows) {
    const graded = statusOf.get(r.githubLogin) === 'graded';
    lines.push(
      [r.name ?? r.githubLogin, '', r.studentId, r.email, '', graded ? r.total : undefined].map(cell).join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
