/**
 * Wall-clock times in IANA time zones, with the tz database that ships with
 * Node's Intl (no dependency). A local date-time is turned into an instant
 * for its zone at that date, so daylight saving time is handled: on the
 * night the clocks go forward some local times do not exist (a "gap"), and
 * on the night they go back some happen twice (an "overlap").
 */

/** A calendar date and wall-clock time, without a zone. Months are 1-12. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** How a local date-time maps to instants in a zone. */
export type LocalResolution =
  | { kind: 'unique'; at: number }
  /** Happens twice (clocks go back): the first and the second time. */
  | { kind: 'overlap'; earlier: number; later: number }
  /** Does not exist (clocks go forward): `next` is the first instant after the gap. */
  | { kind: 'gap'; next: number };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The zone's name as the tz database spells it (`europe/paris` →
 * `Europe/Paris`; a link such as `America/Montreal` stays as written), or
 * undefined when Intl does not know it. Fixed offsets (`+02:00`) are
 * refused: they do not follow daylight saving time.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_/+-]*$/.test(name)) return undefined;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  const lower = name.toLowerCase();
  return (
    knownTimeZones().find((z) => z === name) ??
    knownTimeZones().find((z) => z.toLowerCase() === lower) ??
    (resolved.toLowerCase() === lower ? resolved : name)
  );
}

let zones: string[] | undefined;

/** Every zone name Intl knows, for "did you mean". */
export function knownTimeZones(): string[] {
  zones ??= ['UTC', ...Intl.supportedValuesOf('timeZone')];
  return zones;
}

/** The wall-clock fields of an instant in a zone. */
export function localFields(at: number, timeZone: string): LocalDateTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The local fields as if they were UTC: the arithmetic basis for offsets. */
function asUtc(l: LocalDateTime): number {
  const d = new Date(0);
  d.setUTCFullYear(l.year, l.month - 1, l.day);
  d.setUTCHours(l.hour, l.minute, l.second, 0);
  return d.getTime();
}

/** Local time minus UTC at an instant, in milliseconds (whole seconds). */
export function offsetAt(at: number, timeZone: string): number {
  const whole = Math.floor(at / 1000) * 1000;
  return asUtc(localFields(whole, timeZone)) - whole;
}

/** The instants at which a local date-time happens in a zone. */
export function resolveLocal(local: LocalDateTime, timeZone: string): LocalResolution {
  const wall = asUtc(local);
  // Zones change their offset at most once in a couple of days: the offsets a
  // day either side are the only candidates.
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((at) => offsetAt(at, timeZone) === wall - at)
    .sort((a, b) => a - b);
  if (candidates.length === 1) return { kind: 'unique', at: candidates[0]! };
  if (candidates.length >= 2) return { kind: 'overlap', earlier: candidates[0]!, later: candidates.at(-1)! };
  // A gap: find the transition, the first instant whose offset is the new one.
  let lo = wall - after; // still on the old offset
  let hi = wall - before; // already on the new offset
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return { kind: 'gap', next: hi };
}

/**
 * One instant for a local date-time, for boundaries that must exist: in an
 * overlap `prefer` picks the first or second occurrence; in a gap the
 * boundary is the end of the gap (the first instant after it).
 */
export function instantOf(local: LocalDateTime, timeZone: string, prefer: 'earlier' | 'later'): number {
  const r = resolveLocal(local, timeZone);
  if (r.kind === 'unique') return r.at;
  if (r.kind === 'gap') return r.next;
  return prefer === 'earlier' ? r.earlier : r.later;
}

/** Adds calendar days to a local date-time (same wall-clock time). */
export function addLocalDays(local: LocalDateTime, days: number): LocalDateTime {
  const d = new Date(asUtc({ ...local, hour: 0, minute: 0, second: 0 }) + days * DAY);
  return { ...local, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** `2027-03-28T23:59` or `2027-03-28T23:59:30`, checked against the calendar. */
export function parseLocalDateTime(text: string): LocalDateTime | undefined {
  const m = LOCAL_RE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || day < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  return { year, month, day, hour, minute, second };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2027-03-28T23:59` (seconds only when not zero). */
export function formatLocal(l: LocalDateTime): string {
  const base = `${pad(l.year, 4)}-${pad(l.month)}-${pad(l.day)}T${pad(l.hour)}:${pad(l.minute)}`;
  return l.second ? `${base}:${pad(l.second)}` : base;
}

/** `2027-03-29 00:00 Europe/Paris`: how messages show an instant to students and instructors. */
export function formatInZone(at: number, timeZone: string): string {
  return `${formatLocal(localFields(at, timeZone)).replace('T', ' ')} ${timeZone}`;
}

/** `+02:00` for an offset in milliseconds. */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(Math.round(offsetMs / 60_000));
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** Where a calendar window (day, hour or week in a zone) containing `at` starts and ends. */
export function windowAround(
  at: number,
  per: 'hour' | 'day' | 'week',
  timeZone: string,
): { start: number; end: number } {
  if (per === 'hour') {
    // The clock hour: local minutes and seconds back, on this instant's own offset
    // (the two 02:00-03:00 hours of a night the clocks go back are two windows).
    const l = localFields(at, timeZone);
    const start = Math.floor(at / 1000) * 1000 - (l.minute * 60 + l.second) * 1000;
    return { start, end: start + HOUR };
  }
  const l = localFields(at, timeZone);
  let first: LocalDateTime = { ...l, hour: 0, minute: 0, second: 0 };
  if (per === 'week') {
    const weekday = new Date(asUtc(first)).getUTCDay(); // 0 = Sunday
    first = addLocalDays(first, -((weekday + 6) % 7)); // back to Monday
  }
  const start = instantOf(first, timeZone, 'earlier');
  const end = instantOf(addLocalDays(first, per === 'week' ? 7 : 1), timeZone, 'earlier');
  return { start, end };
}

/** A deadline as written: a local date-time, optionally with an offset and/or an IANA zone. */
export interface DateTimeText {
  local: LocalDateTime;
  /** `Z` or `+02:00`: an exact instant. */
  offsetMs?: number;
  /** `2027-03-28T23:59 Europe/Paris`: the zone, canonical. */
  timeZone?: string;
}

const DATE_TIME_RE =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:\d{2})?(?:\s+([A-Za-z][A-Za-z0-9_/+-]*))?$/;

/**
 * `2027-03-28T23:59`, `2027-03-28T23:59 Europe/Paris`, `2027-03-28T21:59Z`,
 * `2027-10-31T02:30+01:00 Europe/Paris`; a problem in words otherwise.
 */
export function parseDateTimeText(text: string): DateTimeText | { problem: string; unknownZone?: string } {
  const trimmed = text.trim();
  const m = DATE_TIME_RE.exec(trimmed);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
      return { problem: `'${trimmed}' has no time of day; write one, e.g. '${trimmed}T23:59'` };
    }
    return {
      problem: `expected a local date-time such as '2027-03-28T23:59' (optionally followed by a time zone: '2027-03-28T23:59 Europe/Paris')`,
    };
  }
  const local = parseLocalDateTime(`${m[1]}T${m[2]}`);
  if (!local) return { problem: `'${m[1]}T${m[2]}' is not a date and time on the calendar` };
  const out: DateTimeText = { local };
  if (m[3]) {
    if (m[3] === 'Z') out.offsetMs = 0;
    else {
      const [h, min] = m[3].slice(1).split(':').map(Number) as [number, number];
      if (h > 14 || min > 59) return { problem: `'${m[3]}' is not a UTC offset` };
      out.offsetMs = (m[3][0] === '-' ? -1 : 1) * (h * 60 + min) * 60_000;
    }
  }
  if (m[4]) {
    const zone = canonicalTimeZone(m[4]);
    if (!zone) return { problem: `unknown time zone '${m[4]}'`, unknownZone: m[4] };
    out.timeZone = zone;
  }
  return out;
}
