/**
 * What an image file really is: the format is decided by its bytes (magic
 * numbers, or the root element for SVG), never by its name. Dimensions of
 * raster formats come from `image-size` (PNG IHDR, GIF logical screen, JPEG
 * SOFn markers, WebP VP8/VP8L/VP8X chunks); SVG is inspected here because
 * what matters is its root element and whether it draws anything.
 */
import { imageSize } from 'image-size';
import { decodeUtf8 } from '@labgrader/core';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'svg';

export const IMAGE_FORMAT_NAMES: Record<ImageFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
  svg: 'SVG',
};

/** File extensions and the format a reader expects from them. */
export const IMAGE_EXTENSIONS: Record<string, ImageFormat> = {
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  gif: 'gif',
  webp: 'webp',
  svg: 'svg',
};

export interface ImageInfo {
  format: ImageFormat;
  width?: number;
  height?: number;
  /** SVG only: drawing elements (shapes, paths, text, images). */
  drawingElements?: number;
  /** SVG only: the texts it shows (`<text>`, HTML labels in `<foreignObject>`), at most 200. */
  labels?: string[];
}

export type SniffResult =
  | { ok: true; info: ImageInfo }
  /** `what` completes "its bytes are …". */
  | { ok: false; problem: 'empty' | 'not-an-image' | 'corrupt'; what: string };

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((b, i) => bytes[at + i] === b);
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

export function sniffImage(bytes: Uint8Array): SniffResult {
  if (bytes.length === 0) return { ok: false, problem: 'empty', what: 'empty (0 bytes)' };
  let format: ImageFormat | undefined;
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) format = 'png';
  else if (startsWith(bytes, [0xff, 0xd8, 0xff])) format = 'jpeg';
  else if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) format = 'gif';
  else if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) format = 'webp';
  if (format) {
    try {
      const size = imageSize(bytes);
      if (!size.width || !size.height) {
        return {
          ok: false,
          problem: 'corrupt',
          what: `a ${IMAGE_FORMAT_NAMES[format]} header without dimensions (corrupt or truncated)`,
        };
      }
      return { ok: true, info: { format, width: size.width, height: size.height } };
    } catch {
      return { ok: false, problem: 'corrupt', what: `a corrupt or truncated ${IMAGE_FORMAT_NAMES[format]}` };
    }
  }
  const text = decodeUtf8(bytes.subarray(0, Math.min(bytes.length, 4 * 1024 * 1024)));
  if (text !== undefined) return sniffText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return { ok: false, problem: 'not-an-image', what: describeBinary(bytes) };
}

function describeBinary(bytes: Uint8Array): string {
  if (startsWith(bytes, ascii('%PDF-'))) return 'a PDF document';
  if (startsWith(bytes, ascii('BM'))) return 'a BMP bitmap (not supported by every Markdown viewer)';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'a TIFF image';
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return 'an ICO icon';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'an AVIF/HEIC image (not supported by every Markdown viewer)';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive (e.g. a .vsdx or .docx)';
  return 'binary data of an unknown type';
}

function sniffText(text: string): SniffResult {
  const head = text.slice(0, 512).trimStart();
  if (head.startsWith('version https://git-lfs.github.com/spec/')) {
    return { ok: false, problem: 'not-an-image', what: 'a Git LFS pointer, not the image itself' };
  }
  if (/^(<!doctype html|<html)/i.test(head)) {
    return {
      ok: false,
      problem: 'not-an-image',
      what: 'an HTML page (often a saved GitHub page instead of the raw image)',
    };
  }
  if (/^\{\s*"type"\s*:\s*"excalidraw"/.test(head)) {
    return { ok: false, problem: 'not-an-image', what: 'an Excalidraw source file' };
  }
  if (/^(<\?xml[^>]*>\s*)?<(mxfile|mxGraphModel)\b/.test(head)) {
    return { ok: false, problem: 'not-an-image', what: 'a draw.io source file' };
  }
  const svg = inspectSvg(text);
  if (svg) return svg;
  const firstLine = head.split('\n', 1)[0]!.trim().slice(0, 40);
  return { ok: false, problem: 'not-an-image', what: firstLine ? `text starting with '${firstLine}'` : 'blank text' };
}

/** Index after the XML prolog (declaration, comments, doctype, whitespace), or -1 if malformed. */
function skipProlog(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return -1;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return -1;
      i = end + 3;
    } else if (/^<!doctype/i.test(text.slice(i, i + 9))) {
      const bracket = text.indexOf('[', i);
      const close = text.indexOf('>', i);
      if (close < 0) return -1;
      if (bracket >= 0 && bracket < close) {
        const subsetEnd = text.indexOf(']', bracket);
        if (subsetEnd < 0) return -1;
        const end = text.indexOf('>', subsetEnd);
        if (end < 0) return -1;
        i = end + 1;
      } else {
        i = close + 1;
      }
    } else {
      return i;
    }
  }
}

const SVG_DRAWING =
  /<(?:[\w.-]+:)?(?:rect|circle|ellipse|line|polyline|polygon|path|text|image|use|foreignObject)[\s/>]/g;

function lengthAttribute(tag: string, name: string): number | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*["']\\s*([0-9.]+)\\s*(px)?\\s*["']`).exec(tag);
  if (!m) return undefined;
  const value = Number(m[1]);
  return Number.isFinite(value) ? value : undefined;
}

/** SVG by its root element; undefined when the text is not XML-like at all. */
function inspectSvg(text: string): SniffResult | undefined {
  const start = skipProlog(text);
  if (start < 0 || text[start] !== '<') return undefined;
  const root = /^<([\w.-]+:)?([\w.-]+)/.exec(text.slice(start, start + 200));
  if (!root) return undefined;
  if (root[2] !== 'svg') {
    return {
      ok: false,
      problem: 'not-an-image',
      what: `XML whose root element is <${root[1] ?? ''}${root[2]}>, not <svg>`,
    };
  }
  const tagEnd = text.indexOf('>', start);
  if (tagEnd < 0) return { ok: false, problem: 'corrupt', what: 'an SVG whose <svg> tag is never closed' };
  const rootTag = text.slice(start, tagEnd + 1);
  const selfClosing = rootTag.endsWith('/>');
  if (!selfClosing && !/<\/([\w.-]+:)?svg\s*>/.test(text.slice(tagEnd))) {
    return { ok: false, problem: 'corrupt', what: 'a truncated SVG (no closing </svg>)' };
  }
  let width = lengthAttribute(rootTag, 'width');
  let height = lengthAttribute(rootTag, 'height');
  const viewBox = /\sviewBox\s*=\s*["']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*["']/.exec(rootTag);
  if (viewBox && (width === undefined || height === undefined)) {
    width ??= Number(viewBox[1]);
    height ??= Number(viewBox[2]);
  }
  const drawingElements = selfClosing ? 0 : (text.slice(tagEnd).match(SVG_DRAWING)?.length ?? 0);
  const info: ImageInfo = { format: 'svg', drawingElements, labels: selfClosing ? [] : svgLabels(text.slice(tagEnd)) };
  if (width !== undefined && Number.isFinite(width)) info.width = width;
  if (height !== undefined && Number.isFinite(height)) info.height = height;
  return { ok: true, info };
}

/** Entities of SVG text, decoded. */
function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (m, e: string) => {
    const lower = e.toLowerCase();
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
    if (named[lower]) return named[lower];
    const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

/**
 * The texts an SVG shows: the content of each `<text>` (its `<tspan>`s
 * joined) and of each `<foreignObject>` (draw.io's HTML labels), tags
 * removed. Bounded: each element's content is capped, and so is the count.
 */
function svgLabels(body: string): string[] {
  const out: string[] = [];
  const re = /<(?:[\w.-]+:)?(text|foreignObject)\b[^>]{0,2000}>([\s\S]{0,4000}?)<\/(?:[\w.-]+:)?\1\s*>/g;
  for (const m of body.matchAll(re)) {
    const label = decodeXml(m[2]!.replace(/<[^>]{0,2000}>/g, ' '))
      .replace(/\s+/g, ' ')
      .trim();
    if (label !== '') out.push(label);
    if (out.length >= 200) break;
  }
  return out;
}
