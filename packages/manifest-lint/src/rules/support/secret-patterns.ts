/**
 * What "looks like a secret": configurable name patterns, value patterns
 * (credentials in URLs, private keys, well-known token formats) and
 * placeholders that are fine to commit.
 */
import { z } from 'zod';

export const DEFAULT_SENSITIVE_NAMES = [
  'passw(or)?d|passwd|(^|[_.-])pwd($|[_.-])',
  'secret',
  'token',
  'api[_.-]?key',
  'private[_.-]?key',
  'access[_.-]?key',
  // `signing_key`, `encryption.key`; a bare `key` says nothing (a placeholder `key: value`, a lookup key).
  '[_.-]key$',
  'credential',
  '(^|[_.-])dsn$',
  'connection[_.-]?string',
  'auth[_.-]?(key|token|secret|pass)',
];

/** Names that mention a secret without holding one (a path to it, its name, its length...). */
export const DEFAULT_ALLOWED_NAMES = [
  '[_.-](file|path|dir|name|names|ref|url|uri|endpoint|host|port|id|ttl|timeout|expiry|expires|expiration|length|size|enabled|type|header|field|mode|version|algorithm|audience|issuer|prefix|refresh[_.-]?interval)$',
  '^(secret|token|key)[_.-]?(name|ref|id|file|path|type|length)$',
];

export const DEFAULT_VALUE_PATTERNS = [
  // Credentials inside a URL: scheme://user:password@host
  '[a-z][a-z0-9+.-]*://[^\\s:/@]+:([^\\s@/]+)@',
  '-----BEGIN [A-Z ]*PRIVATE KEY-----',
  '\\bAKIA[0-9A-Z]{16}\\b',
  '\\bgh[pousr]_[A-Za-z0-9]{30,}\\b',
  '\\bgithub_pat_[A-Za-z0-9_]{30,}',
  '\\bxox[baprs]-[A-Za-z0-9-]{10,}',
  '\\bsk_live_[0-9A-Za-z]{16,}',
  '\\bAIza[0-9A-Za-z_-]{35}\\b',
  '\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}',
];

export const DEFAULT_PLACEHOLDERS = [
  '^\\s*$',
  '^<[^>]*>$',
  '^\\$\\{[^}]*\\}$',
  '^\\$\\([^)]*\\)$',
  '^\\{\\{.*\\}\\}$',
  '^(changeme|change[-_]me|replace[-_]?me|todo|tbd|x{3,}|\\*{3,}|placeholder|dummy|example|redacted|fixme|value)$',
];

/**
 * A switch, not a credential: `MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`,
 * `MYSQL_RANDOM_ROOT_PASSWORD: "true"`. Nobody's password is "yes".
 */
const SWITCH = /^(yes|no|y|n|true|false|on|off|0|1|enabled?|disabled?)$/i;

function regexList(defaults: string[]) {
  return z
    .array(
      z.string().refine((s) => {
        try {
          new RegExp(s, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression'),
    )
    .default(defaults);
}

export const secretPatternOptions = {
  /** Regular expressions (case-insensitive) for names that suggest a secret. */
  sensitiveNames: regexList(DEFAULT_SENSITIVE_NAMES),
  /** Names matching these are never secrets (paths to secrets, secret names...). */
  allowedNames: regexList(DEFAULT_ALLOWED_NAMES),
  /** Values matching these are secrets whatever their name. */
  valuePatterns: regexList(DEFAULT_VALUE_PATTERNS),
  /** Values matching these are placeholders, fine to commit. */
  placeholders: regexList(DEFAULT_PLACEHOLDERS),
};

export interface SecretPatternOptions {
  sensitiveNames: string[];
  allowedNames: string[];
  valuePatterns: string[];
  placeholders: string[];
}

export class SecretMatcher {
  private readonly sensitive: RegExp[];
  private readonly allowed: RegExp[];
  private readonly values: RegExp[];
  private readonly placeholders: RegExp[];

  constructor(options: SecretPatternOptions) {
    const compile = (list: string[]) => list.map((s) => new RegExp(s, 'i'));
    this.sensitive = compile(options.sensitiveNames);
    this.allowed = compile(options.allowedNames);
    this.values = compile(options.valuePatterns);
    this.placeholders = compile(options.placeholders);
  }

  sensitiveName(name: string): boolean {
    return this.sensitive.some((r) => r.test(name)) && !this.allowed.some((r) => r.test(name));
  }

  isPlaceholder(value: string): boolean {
    return this.placeholders.some((r) => r.test(value.trim()));
  }

  /** A value under a secret-sounding name that is still no secret: a placeholder, or a yes/no switch. */
  notASecret(value: string): boolean {
    return this.isPlaceholder(value) || SWITCH.test(value.trim());
  }

  /** The part of the value that is a secret (for the exact location), if any pattern matches. */
  secretInValue(value: string): string | undefined {
    for (const r of this.values) {
      const match = r.exec(value);
      if (!match) continue;
      // A URL whose password is a placeholder (`$(DB_PASSWORD)`) is fine.
      if (match[1] !== undefined && this.isPlaceholder(match[1])) continue;
      return match[0];
    }
    return undefined;
  }
}

/** `key = value` / `key: value` lines inside an embedded config file. */
export const ASSIGNMENT =
  /^\s*(?:export\s+)?["']?([A-Za-z0-9_.-]+)["']?\s*[:=]\s*["']?([^"'\s#][^"'#]*?)["']?\s*,?\s*(?:#.*)?$/;
