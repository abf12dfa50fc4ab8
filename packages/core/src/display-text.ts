/**
 * Untrusted text made inert for display. File names, YAML values, cluster
 * events and the messages that quote them are written by students; printed
 * raw, an ESC starts a terminal control sequence (clear the screen, plant an
 * OSC 8 hyperlink, recolour the score), a lone CR overwrites the line, and a
 * bidi override reorders what the reader sees ("Trojan Source",
 * CVE-2021-42574). Every output format starts from this; the Markdown
 * escapers in @labgrader/report add their own layer on top.
 *
 * Nothing is deleted: each such character is replaced by a visible stand-in,
 * so an instructor sees that something was there.
 */

export interface DisplayTextOptions {
  /** Keep line breaks (normalized to LF) instead of showing each as ⏎. For fields meant to span lines, like fix hints. */
  multiline?: boolean;
}

/** Shown in place of a line break in a one-line field. */
export const LINE_BREAK_MARK = '⏎';

/** CRLF, CR and LF are all line endings (CommonMark §2.1); a lone CR also sends the terminal cursor back to column 0. */
const LINE_BREAK = /\r\n|\r|\n/g;

/**
 * Characters that act instead of showing, or show nothing:
 *  - Cc: C0 controls (ESC, BEL, BS…), DEL, C1 controls (0x9B is a one-byte CSI, 0x9D an OSC, 0x85 a line break);
 *  - Cf: format characters: bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), LRM/RLM/ALM,
 *    zero-width spaces, soft hyphen, BOM, tag characters;
 *  - Zl, Zp: U+2028 and U+2029, line breaks to some renderers;
 *  - Cs: lone surrogates, which are not text (encoders reject them or substitute U+FFFD).
 * Tab and LF are left to the caller. ZWNJ and ZWJ stay: Persian and Indic words and emoji sequences (👩‍💻) need
 * them, and they move nothing. A complete emoji tag sequence (subdivision flags such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿) is matched
 * first and kept whole.
 */
const HIDDEN = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}|(?![\t\n\u200C\u200D])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

const EMOJI_TAG_SEQUENCE_START = '\u{1F3F4}';

/** C0 controls and DEL become their Unicode Control Pictures (␛ ␇ ␀ ␡); anything else its code point, `<U+202E>`. */
function visibleStandIn(match: string): string {
  if (match.startsWith(EMOJI_TAG_SEQUENCE_START)) return match;
  const code = match.codePointAt(0)!;
  if (code < 0x20) return String.fromCodePoint(0x2400 + code);
  if (code === 0x7f) return '\u2421';
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}

/**
 * The text with line breaks folded to ⏎ (or normalized to LF when `multiline`) and every control, format or
 * invisible character replaced by a visible stand-in. Ordinary Unicode (accents, CJK, emoji) is unchanged, and so are tabs.
 */
export function toDisplayText(text: string, options: DisplayTextOptions = {}): string {
  return text.replace(LINE_BREAK, options.multiline ? '\n' : LINE_BREAK_MARK).replace(HIDDEN, visibleStandIn);
}
