/**
 * Finding the notes. The rubric lists accepted names and directories; a file
 * that matches them exactly is the notes. Near misses (letter case, another
 * directory) are found too, so the student is told what was found and why it
 * does or does not count, according to the rubric's placement policies.
 * Names come from `RepoFiles.list()` (real directory entries), so a
 * case-insensitive filesystem cannot turn a case variant into an exact match.
 */
import { normalizeRepoPath, type RepoEntry, type RepoFiles } from '@labgrader/core';
import type { NotesSettings } from '../settings.js';

export type NotesMatch = 'exact' | 'case-variant' | 'other-location';

export interface NotesCandidate {
  path: string;
  match: NotesMatch;
  /** False when the rubric's policy for this kind of near miss is `reject`. */
  accepted: boolean;
  entry: RepoEntry;
}

export interface NotesLocation {
  /** Where the notes are expected, in order of preference. */
  expected: string[];
  /** The file that is graded, if any. */
  chosen?: NotesCandidate;
  /** Every other candidate (ignored duplicates, rejected near misses). */
  others: NotesCandidate[];
}

/** Directories never searched for near misses (dependencies, tool caches). */
const IGNORED_DIRECTORIES = /(^|\/)(node_modules|vendor|\.terraform|\.venv|target|dist|build)\//;

function dirAndBase(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

export async function locateNotes(repo: RepoFiles, settings: NotesSettings): Promise<NotesLocation> {
  const directories = settings.directories.map((d) => normalizeRepoPath(d) ?? '');
  const expected: string[] = [];
  for (const dir of directories) for (const name of settings.names) expected.push(dir ? `${dir}/${name}` : name);
  const lowerNames = new Set(settings.names.map((n) => n.toLowerCase()));
  const lowerDirs = new Set(directories.map((d) => d.toLowerCase()));

  const candidates: NotesCandidate[] = [];
  for (const entry of await repo.list()) {
    const [dir, base] = dirAndBase(entry.path);
    if (!lowerNames.has(base.toLowerCase())) continue;
    if (expected.includes(entry.path)) {
      candidates.push({ path: entry.path, match: 'exact', accepted: true, entry });
    } else if (lowerDirs.has(dir.toLowerCase())) {
      candidates.push({ path: entry.path, match: 'case-variant', accepted: settings.caseVariants !== 'reject', entry });
    } else if (!IGNORED_DIRECTORIES.test(`${entry.path}`)) {
      candidates.push({
        path: entry.path,
        match: 'other-location',
        accepted: settings.otherLocations !== 'reject',
        entry,
      });
    }
  }
  const rank = (c: NotesCandidate): number[] => {
    const exactIndex = expected.indexOf(c.path);
    const [dir, base] = dirAndBase(c.path);
    const dirIndex = directories.findIndex((d) => d.toLowerCase() === dir.toLowerCase());
    const nameIndex = settings.names.findIndex((n) => n.toLowerCase() === base.toLowerCase());
    return [
      c.accepted ? 0 : 1,
      { exact: 0, 'case-variant': 1, 'other-location': 2 }[c.match],
      exactIndex < 0 ? expected.length : exactIndex,
      dirIndex < 0 ? c.path.split('/').length : dirIndex,
      nameIndex,
    ];
  };
  candidates.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
  const chosen = candidates[0]?.accepted ? candidates[0] : undefined;
  const location: NotesLocation = { expected, others: candidates.filter((c) => c !== chosen) };
  if (chosen) location.chosen = chosen;
  return location;
}
