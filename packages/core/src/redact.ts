/**
 * Secret redaction for anything we log or print: GitHub tokens, credentials
 * embedded in URLs, bearer/basic authorization headers, private keys.
 * Applied by loggers and by error messages that echo commands or URLs.
 */

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // GitHub tokens: classic (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server (ghs_), refresh (ghr_), fine-grained.
  [/\b(gh[pousr]_)[A-Za-z0-9]{20,}\b/g, '$1[REDACTED]'],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, 'github_pat_[REDACTED]'],
  // user:password@ or token@ in URLs.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi, '$1[REDACTED]@'],
  // Authorization headers.
  [/\b(authorization:\s*(?:bearer|basic|token)\s+)[^\s'"]+/gi, '$1[REDACTED]'],
  [/\b(bearer\s+)[A-Za-z0-9._~+/-]{16,}=*/gi, '$1[REDACTED]'],
  // PEM private keys.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
