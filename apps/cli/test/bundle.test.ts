/** The bundle's post-processing (scripts/bundle.mjs): ASCII output, and a source map that still fits it. */
import { describe, expect, it } from '@jest/globals';
import { transformSync } from 'esbuild';
import { asciiWherePossible, shiftSourceMap } from '../scripts/bundle.mjs';

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Generated [line, column] of every mapping segment. */
function generatedPositions(mappings: string): [number, number][] {
  const out: [number, number][] = [];
  mappings.split(';').forEach((segments, line) => {
    let column = 0;
    for (const segment of segments.split(',').filter(Boolean)) {
      let value = 0;
      let shift = 0;
      for (const c of segment) {
        const digit = VLQ.indexOf(c);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
          continue;
        }
        column += value & 1 ? -(value >>> 1) : value >>> 1;
        break;
      }
      out.push([line, column]);
    }
  });
  return out;
}
const at = (code: string, [line, column]: [number, number]) => code.split('\n')[line]!.slice(column, column + 8);

describe('the bundle is ASCII where that changes nothing', () => {
  const source = [
    'export const quote = /[’‘]/g; export function after(x) { return x.replace(quote, "’") + `’` }',
    'export const raw = String.raw`’`; // a comment — with a dash',
    'export const last = /^[–—-]+/u.test(after("a")); export { last as é };',
  ].join('\n');
  const built = transformSync(source, { format: 'cjs', minifyWhitespace: true, sourcemap: 'external', loader: 'js' });

  it('escapes regular expressions and comments, not the raw text of a tagged template', () => {
    const { code, grown } = asciiWherePossible(built.code);
    expect(grown.length).toBeGreaterThan(0);
    expect(code).toContain('/[\\u2019\\u2018]/g');
    expect(code).toContain('String.raw`’`'); // would change String.raw's result: left alone
    const load = (text: string) => {
      const module = { exports: {} as Record<string, unknown> };
      new Function('module', 'exports', text)(module, module.exports);
      return module.exports;
    };
    const [escaped, original] = [load(code), load(built.code)];
    // The same values; a regular expression's `.source` spells the character as an escape.
    const values = (m: Record<string, unknown>) => [(m.after as (x: string) => string)('a’b‘'), m.raw, m.last, m['é']];
    expect(values(escaped)).toEqual(values(original));
    for (const text of ['’', '‘', "'", 'x']) {
      expect((escaped.quote as RegExp).test(text)).toBe((original.quote as RegExp).test(text));
      (escaped.quote as RegExp).lastIndex = (original.quote as RegExp).lastIndex = 0;
    }
  });

  it('moves the source map with the text it maps', () => {
    const { code, grown } = asciiWherePossible(built.code);
    const before = JSON.parse(built.map) as { mappings: string };
    const after = shiftSourceMap(JSON.parse(built.map), built.code, grown) as { mappings: string };
    const old = generatedPositions(before.mappings);
    const moved = generatedPositions(after.mappings);
    expect(moved).toHaveLength(old.length);
    const sameText = old.filter((p) => /^[\x20-\x7e]{8}/.test(at(built.code, p)));
    expect(sameText.length).toBeGreaterThan(10);
    for (const [i, p] of old.entries()) {
      if (/^[\x20-\x7e]{8}/.test(at(built.code, p))) expect(at(code, moved[i]!)).toBe(at(built.code, p));
    }
  });

  it('leaves ASCII code as it is', () => {
    expect(asciiWherePossible('var a = 1;')).toEqual({ code: 'var a = 1;', grown: [] });
  });
});
