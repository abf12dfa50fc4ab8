import { describe, expect, it } from '@jest/globals';
import { addLocalDays, canonicalTimeZone, parseDateTimeText, resolveLocal, windowAround } from '../src/time.js';
import { parseLocalDateTime } from '../src/time.js';

const local = (text: string) => parseLocalDateTime(text)!;
const iso = (ms: number) => new Date(ms).toISOString();

describe('resolveLocal: a wall-clock time in a zone', () => {
  it.each([
    // zone, local, expected instant(s)
    ['Europe/Paris', '2027-03-28T23:59', 'unique', ['2027-03-28T21:59:00.000Z']], // the day clocks go forward: CEST
    ['Europe/Paris', '2027-03-28T01:59', 'unique', ['2027-03-28T00:59:00.000Z']], // still CET
    ['Europe/Paris', '2027-03-28T03:00', 'unique', ['2027-03-28T01:00:00.000Z']], // first minute of CEST
    ['Europe/Paris', '2027-01-15T23:59', 'unique', ['2027-01-15T22:59:00.000Z']],
    ['Europe/Paris', '2027-10-31T02:30', 'overlap', ['2027-10-31T00:30:00.000Z', '2027-10-31T01:30:00.000Z']],
    ['America/New_York', '2027-03-14T02:30', 'gap', ['2027-03-14T07:00:00.000Z']], // 02:00 → 03:00 EDT
    ['America/New_York', '2027-11-07T01:30', 'overlap', ['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z']],
    ['Australia/Lord_Howe', '2027-04-04T01:45', 'overlap', ['2027-04-03T14:45:00.000Z', '2027-04-03T15:15:00.000Z']], // 30-minute DST
    ['Asia/Kolkata', '2027-03-28T23:59', 'unique', ['2027-03-28T18:29:00.000Z']], // +05:30, no DST
    ['America/Santiago', '2022-09-11T00:00', 'gap', ['2022-09-11T04:00:00.000Z']], // midnight does not exist
    ['Pacific/Apia', '2011-12-30T12:00', 'gap', ['2011-12-30T10:00:00.000Z']], // Samoa skipped a whole day
    ['UTC', '2027-03-28T23:59', 'unique', ['2027-03-28T23:59:00.000Z']],
  ])('%s %s is %s', (zone, text, kind, instants) => {
    const r = resolveLocal(local(text), zone);
    expect(r.kind).toBe(kind);
    if (r.kind === 'unique') expect([iso(r.at)]).toEqual(instants);
    if (r.kind === 'overlap') expect([iso(r.earlier), iso(r.later)]).toEqual(instants);
    if (r.kind === 'gap') expect([iso(r.next)]).toEqual(instants);
  });
});

describe('calendar windows', () => {
  it.each([
    // per, zone, now, start, end
    ['day', 'Europe/Paris', '2027-03-28T12:00:00Z', '2027-03-27T23:00:00.000Z', '2027-03-28T22:00:00.000Z'], // 23-hour day
    ['day', 'Europe/Paris', '2027-10-31T12:00:00Z', '2027-10-30T22:00:00.000Z', '2027-10-31T23:00:00.000Z'], // 25-hour day
    ['day', 'Europe/Paris', '2027-03-28T22:30:00Z', '2027-03-28T22:00:00.000Z', '2027-03-29T22:00:00.000Z'], // 00:30 local next day
    ['day', 'America/Santiago', '2022-09-11T12:00:00Z', '2022-09-11T04:00:00.000Z', '2022-09-12T03:00:00.000Z'], // day starts at 01:00
    ['day', 'Asia/Kolkata', '2027-03-28T20:00:00Z', '2027-03-28T18:30:00.000Z', '2027-03-29T18:30:00.000Z'],
    ['week', 'Europe/Paris', '2027-03-28T12:00:00Z', '2027-03-21T23:00:00.000Z', '2027-03-28T22:00:00.000Z'], // Sunday: week from Monday 22nd
    ['week', 'Europe/Paris', '2027-03-29T08:00:00Z', '2027-03-28T22:00:00.000Z', '2027-04-04T22:00:00.000Z'], // Monday
    ['hour', 'Europe/Paris', '2027-10-31T00:45:00Z', '2027-10-31T00:00:00.000Z', '2027-10-31T01:00:00.000Z'], // first 02:xx
    ['hour', 'Europe/Paris', '2027-10-31T01:45:00Z', '2027-10-31T01:00:00.000Z', '2027-10-31T02:00:00.000Z'], // second 02:xx
    ['hour', 'Asia/Kolkata', '2027-03-28T20:10:00Z', '2027-03-28T19:30:00.000Z', '2027-03-28T20:30:00.000Z'], // local 01:40
  ] as const)('%s in %s around %s', (per, zone, now, start, end) => {
    const w = windowAround(Date.parse(now), per, zone);
    expect([iso(w.start), iso(w.end)]).toEqual([start, end]);
  });

  it('adds calendar days across month and year ends', () => {
    expect(addLocalDays(local('2027-12-31T23:59'), 1)).toEqual(local('2028-01-01T23:59'));
    expect(addLocalDays(local('2028-02-28T10:00'), 1)).toEqual(local('2028-02-29T10:00'));
    expect(addLocalDays(local('2027-03-01T10:00'), -1)).toEqual(local('2027-02-28T10:00'));
  });
});

describe('time zone names and date-time text', () => {
  it.each([
    ['Europe/Paris', 'Europe/Paris'],
    ['europe/paris', 'Europe/Paris'],
    ['UTC', 'UTC'],
    ['America/Montreal', 'America/Montreal'], // a link stays as written
    ['Mars/Olympus', undefined],
    ['+02:00', undefined],
    ['Europe/Paris\n', undefined],
    ['', undefined],
  ])('%j → %j', (name, expected) => {
    expect(canonicalTimeZone(name)).toBe(expected);
  });

  it.each([
    ['2027-03-28T23:59', { local: local('2027-03-28T23:59') }],
    ['2027-03-28 23:59:30', { local: local('2027-03-28T23:59:30') }],
    ['2027-03-28T23:59 Europe/Paris', { local: local('2027-03-28T23:59'), timeZone: 'Europe/Paris' }],
    ['2027-03-28T21:59Z', { local: local('2027-03-28T21:59'), offsetMs: 0 }],
    [
      '2027-10-31T02:30+01:00 Europe/Paris',
      { local: local('2027-10-31T02:30'), offsetMs: 3_600_000, timeZone: 'Europe/Paris' },
    ],
    ['2027-03-28T23:59-04:30', { local: local('2027-03-28T23:59'), offsetMs: -16_200_000 }],
    ['2027-03-28', { problem: "'2027-03-28' has no time of day; write one, e.g. '2027-03-28T23:59'" }],
    ['2027-02-29T12:00', { problem: "'2027-02-29T12:00' is not a date and time on the calendar" }],
    ['2027-03-28T24:00', { problem: "'2027-03-28T24:00' is not a date and time on the calendar" }],
    ['2027-03-28T23:59 Mars/Olympus', { problem: "unknown time zone 'Mars/Olympus'", unknownZone: 'Mars/Olympus' }],
    ['next friday', expect.objectContaining({ problem: expect.stringMatching(/^expected a local date-time/) })],
  ])('%j', (text, expected) => {
    expect(parseDateTimeText(text)).toEqual(expected);
  });
});
