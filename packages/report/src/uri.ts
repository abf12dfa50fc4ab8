/**
 * URIs built from report data, shared by SARIF (artifact locations, help and
 * repository URIs) and the Markdown report (blob and docs links).
 */

/** encodeURIComponent throws on a lone surrogate (a YAML "\uD800" escape can produce one); U+FFFD stands in for it. */
function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, '\uFFFD');
}

/** A repository-relative POSIX path as a URI reference: each segment percent-encoded (spaces, #, ?, %, non-ASCII). */
export function encodeRepositoryPath(file: string): string {
  return file
    .split('/')
    .map((segment) => encodeURIComponent(wellFormed(segment)))
    .join('/');
}

/** False for paths whose segments a URL resolver would collapse or reinterpret (`..`, `.`, empty): we do not link those. */
export function isPlainRelativePath(file: string): boolean {
  return file.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Characters RFC 3986 allows unescaped in a path, query or fragment; anything else is percent-encoded. */
const NOT_URI_TAIL = /%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]/gu;

function strictlyEncoded(part: string): string {
  return part.replace(NOT_URI_TAIL, (c) => (c.length === 3 && c.startsWith('%') ? c : encodeURIComponent(c)));
}

/**
 * A parsed URL written as an RFC 3986 URI (SARIF's `"format": "uri"`). WHATWG serialization still lets through
 * characters RFC 3986 forbids: `|`, `^`, `{`, a bare `%`, a second `#`, and in an opaque path (`mailto:a<b`) even
 * `<` and spaces.
 */
/** RFC 3986 reg-name / IPv4 / bracketed IPv6 with an optional port: WHATWG accepts hosts with a backtick or `{`. */
const RFC3986_HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::\d*)?$|^\[[0-9A-Fa-f:.]+\](?::\d*)?$/;

function rfc3986(url: URL, withUserinfo: boolean): string | undefined {
  if (!RFC3986_HOST.test(url.host)) return undefined;
  const userinfo = withUserinfo && url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const authority = url.href.startsWith(`${url.protocol}//`) ? `//${userinfo}${url.host}` : '';
  const fragment = url.hash ? `#${strictlyEncoded(url.hash.slice(1))}` : '';
  return `${url.protocol}${authority}${strictlyEncoded(url.pathname + url.search)}${fragment}`;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined; // a local path or an scp-style git address (git@host:owner/repo)
  }
}

/**
 * A URL we may link to (docs, blob lines): absolute http(s) only, so no `javascript:` or `data:`, and without
 * credentials, which only serve to disguise the host (`https://github.com@evil.example`).
 */
export function httpLinkUri(value: string): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  return rfc3986(url, false);
}

const REPOSITORY_SCHEMES = new Set(['https:', 'http:', 'ssh:', 'git:']);

/** A submission's repository as a URI for provenance, when it is a URL a git client fetches from. */
export function repositoryUri(value: string): string | undefined {
  const url = parseUrl(value);
  return url && REPOSITORY_SCHEMES.has(url.protocol) ? rfc3986(url, true) : undefined;
}
