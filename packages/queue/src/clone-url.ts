/**
 * Which URLs a grading job may clone: pure functions shared by the API (a
 * webhook's clone_url), the job contract (what goes on the queue) and the
 * worker (CLONE_URL_ALLOW).
 *
 * A clone URL must be the URL of the job's own repository: its path ends in
 * `/<owner>/<name>` or `/<owner>/<name>.git` (compared case-insensitively,
 * as GitHub does), and a worker additionally requires it to sit directly
 * under one of its allowed roots (`https://github.com/` →
 * `https://github.com/<owner>/<name>.git`). Comparisons are made on parsed,
 * normalised URLs, segment by segment, never on string prefixes.
 *
 * The raw text is inspected before parsing, because WHATWG URL parsing
 * quietly removes the very things we refuse: it resolves `..` and `%2e%2e`,
 * turns `\` into `/`, strips tabs and newlines and drops an empty `user@`.
 */
import { redactSecrets } from '@labgrader/core';

export const CLONE_URL_PROTOCOLS: readonly string[] = ['https:', 'http:', 'file:'];
const MAX_URL_LENGTH = 2048;

/** Where repositories live on a host that a worker accepts: `https://github.com/`, `file:///srv/repos/`. */
export interface CloneUrlRoot {
  protocol: string;
  /** Host and non-default port, lowercased; empty for file URLs. */
  host: string;
  /** Path segments of the root directory, without empty ones. */
  segments: readonly string[];
  /** Normalised, with a trailing slash: for messages and configuration. */
  text: string;
}

export type CloneUrlDecision = { allowed: true; url: string } | { allowed: false; problem: string };

interface InspectedUrl {
  url: URL;
  segments: string[];
}

/** Structural checks on the raw text, then WHATWG parsing; the first problem found, or the parsed URL. */
function inspect(raw: string, kind: 'url' | 'root'): InspectedUrl | { problem: string } {
  if (raw.length > MAX_URL_LENGTH) return { problem: `is longer than ${MAX_URL_LENGTH} characters` };
  // Clone URLs are ASCII; anything else (spaces, controls, look-alike letters) is refused, not normalised.
  if (/[^\x21-\x7e]/.test(raw)) return { problem: 'must be printable ASCII without spaces' };
  if (raw.includes('\\')) return { problem: 'must not contain backslashes' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw);
  if (!scheme) return { problem: 'must be an absolute URL (https://host/owner/name.git)' };
  const protocol = `${scheme[1]!.toLowerCase()}:`;
  if (!CLONE_URL_PROTOCOLS.includes(protocol)) {
    return {
      problem:
        kind === 'root'
          ? 'must start with https://, http:// or file://'
          : `unsupported protocol '${protocol}' (https, http or file)`,
    };
  }
  if (/[?#]/.test(raw)) return { problem: 'must not have a query or a fragment' };
  const rest = raw.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const rawPath = slash === -1 ? '' : rest.slice(slash);
  // Tokens travel through the credentials port and git's environment, never inside a URL.
  if (authority.includes('@')) return { problem: 'must not contain credentials' };
  if (authority.includes('%')) return { problem: 'must not percent-encode its host' };
  if (/%(?:2e|2f|5c)/i.test(rawPath)) return { problem: "must not percent-encode '.', '/' or '\\'" };
  const rawSegments = rawPath.split('/').slice(1);
  if (rawSegments.some((s) => s === '.' || s === '..')) return { problem: "must not contain '.' or '..' segments" };
  const inner = kind === 'root' ? rawSegments.slice(0, -1) : rawSegments;
  if (inner.some((s) => s === '')) return { problem: "must not contain empty segments ('//' or a trailing '/')" };

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'must be an absolute URL (https://host/owner/name.git)' };
  }
  if (url.username || url.password) return { problem: 'must not contain credentials' };
  // Whatever WHATWG would still rewrite (an unusual character it escapes) is refused rather than guessed at.
  if (url.pathname !== (rawPath || '/')) return { problem: 'must be written in normal form' };
  if (url.protocol === 'file:' && url.host !== '') return { problem: 'must not name a host in a file:// URL' };
  // Empty segments inside the path were refused above; what is left is a root's trailing '/'.
  return { url, segments: url.pathname.split('/').filter(Boolean) };
}

/** Why `raw` is not a clean, absolute clone URL with an allowed protocol (undefined when it is). */
/**
 * The answers of the two pure checks below, remembered for the clone URLs
 * seen last (a course has a few hundred repositories, each delivery checks
 * its URL up to three times: payload, job contract, worker): bounded, and
 * only the verdict is kept, never a parsed URL that could be mutated.
 */
const MEMO_SIZE = 2048;
const memo = new Map<string, string | null>();
function remembered(key: string, compute: () => string | undefined): string | undefined {
  const hit = memo.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const answer = compute();
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value!);
  memo.set(key, answer ?? null);
  return answer;
}

export function cloneUrlProblem(raw: string): string | undefined {
  return remembered(`u\0${raw}`, () => {
    const inspected = inspect(raw, 'url');
    return 'problem' in inspected ? inspected.problem : undefined;
  });
}

/** Parses one CLONE_URL_ALLOW entry; problems never repeat the entry (it may hold a secret). */
export function parseCloneUrlRoot(entry: string): { root: CloneUrlRoot } | { problem: string } {
  const inspected = inspect(entry, 'root');
  if ('problem' in inspected) return inspected;
  const { url, segments } = inspected;
  const text = `${url.protocol}//${url.host}/${segments.map((s) => `${s}/`).join('')}`;
  return { root: { protocol: url.protocol, host: url.host, segments, text } };
}

const sameName = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** The URL split into the root it is under and the owner/name that follow, if it is `fullName`'s own. */
function ownRepositoryUrl(
  raw: string,
  fullName: string,
): { url: URL; root: string[]; owner: string } | { problem: string } {
  const inspected = inspect(raw, 'url');
  if ('problem' in inspected) return inspected;
  const { url, segments } = inspected;
  const [owner, name, ...extra] = fullName.split('/');
  if (!owner || !name || extra.length > 0) return { problem: `cannot be checked: '${fullName}' is not owner/name` };
  const n = segments.length;
  const isOwn =
    n >= 2 &&
    sameName(segments[n - 2], owner) &&
    (sameName(segments[n - 1], name) || sameName(segments[n - 1], `${name}.git`));
  if (!isOwn) {
    return { problem: `is not the repository's own: for ${fullName} its path must end in /${fullName}(.git)` };
  }
  return { url, root: segments.slice(0, -2), owner: segments[n - 2]! };
}

/**
 * Why `raw` is not the clone URL of `fullName` (undefined when it is). Used
 * where no roots are configured: the webhook payload and the job contract.
 */
export function repositoryCloneUrlProblem(raw: string, fullName: string): string | undefined {
  return remembered(`r\0${fullName}\0${raw}`, () => {
    const own = ownRepositoryUrl(raw, fullName);
    return 'problem' in own ? own.problem : undefined;
  });
}

const sameSegments = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((s, i) => s === b[i]);

/** `dirs` are the URL's segments before `owner`. */
function underRoot(root: CloneUrlRoot, url: URL, dirs: readonly string[], owner: string): boolean {
  if (root.protocol !== url.protocol || root.host !== url.host) return false;
  // The root is where owners live (https://github.com/)…
  if (sameSegments(root.segments, dirs)) return true;
  // …or it names the owner (https://github.com/course-org/).
  return (
    root.segments.length === dirs.length + 1 &&
    sameSegments(root.segments.slice(0, -1), dirs) &&
    sameName(root.segments.at(-1), owner)
  );
}

/**
 * The worker's decision: `raw` must be `fullName`'s own URL, directly under
 * one of `roots`. The allowed URL is returned normalised: that is what is
 * cloned, so what was checked is what git gets.
 */
export function checkCloneUrl(raw: string, fullName: string, roots: readonly CloneUrlRoot[]): CloneUrlDecision {
  const shown = describeCloneUrl(raw);
  const own = ownRepositoryUrl(raw, fullName);
  if ('problem' in own) return { allowed: false, problem: `clone URL ${shown} ${own.problem}` };
  if (!roots.some((root) => underRoot(root, own.url, own.root, own.owner))) {
    return {
      allowed: false,
      problem: `clone URL ${shown} is not allowed on this worker: ${fullName} must be at <root>${fullName}(.git) for a root in CLONE_URL_ALLOW (${roots.map((r) => r.text).join(', ')})`,
    };
  }
  return { allowed: true, url: own.url.href };
}

/** For messages: quoted (control characters escaped), bounded, credentials removed. */
export function describeCloneUrl(raw: string): string {
  return redactSecrets(JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw));
}
