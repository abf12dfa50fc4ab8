// Parses untrusted input in a worker thread, so that the docs stage can stop
// a parse that takes too long or uses too much memory: Markdown (micromark is
// superlinear on some inputs: deeply nested containers, long runs of lazy
// blockquote lines, nested emphasis), Mermaid diagrams (mermaid's own parser,
// loaded on first use, under a minimal DOM) and raster images (decoded to
// tell a picture from a flat colour). A synchronous parse on the main thread
// could not be interrupted by the stage's time budget. Plain JavaScript
// because worker threads load files without the TypeScript transform.
import { parentPort } from 'node:worker_threads';
import { remark } from 'remark';
import remarkGfm from 'remark-gfm';

const processor = remark().use(remarkGfm);

function errorMessage(error) {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------
// Mermaid: the real parser. It needs `window`/`document` for DOMPurify (which
// sanitises labels); linkedom provides them without a browser.

let mermaidLoading;

function loadMermaid() {
  mermaidLoading ??= (async () => {
    const { parseHTML } = await import('linkedom');
    const { window, document } = parseHTML('<!doctype html><html><head></head><body></body></html>');
    globalThis.window = window;
    globalThis.document = document;
    const { default: mermaid } = await import('mermaid');
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
    return mermaid;
  })();
  return mermaidLoading;
}

function text(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof value.text === 'string') return value.text;
  return undefined;
}

/** The components a parsed diagram names, from its diagram database (by diagram type). */
function components(db) {
  const out = [];
  const add = (id, label) => {
    if (typeof id === 'string' && id !== '') out.push({ id, label: text(label) ?? id });
  };
  if (typeof db.getVertices === 'function') {
    for (const v of db.getVertices().values()) add(v.id, v.text);
  } else if (typeof db.getActors === 'function') {
    for (const a of db.getActors().values()) add(a.name, a.description);
  } else if (typeof db.getC4ShapeArray === 'function') {
    for (const s of db.getC4ShapeArray()) add(s.alias, s.label);
  } else if (typeof db.getServices === 'function') {
    for (const s of db.getServices()) add(s.id, s.title);
  }
  return out.slice(0, 500);
}

async function parseMermaidSource(source) {
  const mermaid = await loadMermaid();
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source);
    return { ok: true, type: diagram.type, components: components(diagram.db) };
  } catch (error) {
    const hash = error && typeof error === 'object' ? error.hash : undefined;
    return {
      ok: false,
      name: error instanceof Error ? error.name : 'Error',
      message: errorMessage(error).slice(0, 2_000),
      hash: hash
        ? {
            line: typeof hash.line === 'number' ? hash.line : undefined,
            firstLine: typeof hash.loc?.first_line === 'number' ? hash.loc.first_line : undefined,
            token: typeof hash.token === 'string' ? hash.token : undefined,
            expected: Array.isArray(hash.expected) ? hash.expected.slice(0, 40).map(String) : undefined,
          }
        : undefined,
    };
  }
}

// ---------------------------------------------------------------------------
// Raster images: how much of the picture is one colour.

async function decode(format, bytes) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(buffer);
    return { width: png.width, height: png.height, data: png.data };
  }
  if (format === 'jpeg') {
    const { default: jpeg } = await import('jpeg-js');
    const image = jpeg.decode(buffer, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: 40,
      maxMemoryUsageInMB: 200,
    });
    return { width: image.width, height: image.height, data: image.data };
  }
  throw new Error(`no decoder for ${format}`);
}

/**
 * Colour statistics over at most ~1M pixels (every pixel of a normal diagram):
 * each pixel composited on white and reduced to 4 bits per channel, so JPEG
 * noise and anti-aliasing do not count as content.
 */
function colourStats(image) {
  const { width, height, data } = image;
  const total = width * height;
  const stride = Math.max(1, Math.floor(total / 1_000_000));
  const counts = new Map();
  let sampled = 0;
  for (let p = 0; p < total; p += stride) {
    const i = p * 4;
    const a = data[i + 3] / 255;
    const r = Math.round(data[i] * a + 255 * (1 - a)) >> 4;
    const g = Math.round(data[i + 1] * a + 255 * (1 - a)) >> 4;
    const b = Math.round(data[i + 2] * a + 255 * (1 - a)) >> 4;
    const key = (r << 8) | (g << 4) | b;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    sampled++;
  }
  let dominant = 0;
  let dominantKey = 0;
  for (const [key, n] of counts) {
    if (n > dominant) {
      dominant = n;
      dominantKey = key;
    }
  }
  const hex = (v) => ((v << 4) | v).toString(16).padStart(2, '0');
  return {
    width,
    height,
    sampled,
    colours: counts.size,
    dominantShare: sampled === 0 ? 1 : dominant / sampled,
    dominantColour: `#${hex(dominantKey >> 8)}${hex((dominantKey >> 4) & 15)}${hex(dominantKey & 15)}`,
  };
}

async function handle(message) {
  switch (message.type ?? 'markdown') {
    case 'markdown':
      return processor.parse(message.text);
    case 'mermaid': {
      const results = [];
      for (const source of message.sources) results.push(await parseMermaidSource(source));
      return results;
    }
    case 'raster':
      return colourStats(await decode(message.format, message.bytes));
    default:
      throw new Error(`unknown request ${message.type}`);
  }
}

parentPort.on('message', (message) => {
  handle(message).then(
    (value) => parentPort.postMessage({ ok: true, value }),
    (error) => parentPort.postMessage({ ok: false, error: errorMessage(error) }),
  );
});
