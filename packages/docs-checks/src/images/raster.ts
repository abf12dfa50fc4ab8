/**
 * What a raster image shows: decoded in the parsing worker (pngjs, jpeg-js;
 * a time budget and a heap limit, so a decompression bomb stops there) and
 * reduced to colour statistics: how much of the picture its most common
 * colour covers. A solid-colour 640×480 PNG is 100% one colour; a diagram
 * with boxes, arrows and labels on white is well under 99%.
 */
import { inWorker } from '../markdown/parse.js';
import { IMAGE_FORMAT_NAMES, type ImageFormat, type ImageInfo } from './sniff.js';

export interface RasterStats {
  width: number;
  height: number;
  /** Distinct colours (4 bits per channel, composited on white). */
  colours: number;
  /** Share of the pixels in the most common colour. */
  dominantShare: number;
  dominantColour: string;
}

export type RasterOutcome =
  | { status: 'inspected'; stats: RasterStats }
  /** Not decoded: why (format without a decoder here, too many pixels, out of time). */
  | { status: 'not-inspected'; reason: string }
  | { status: 'corrupt'; reason: string };

const DECODABLE: ReadonlySet<ImageFormat> = new Set(['png', 'jpeg']);

export async function inspectRaster(
  bytes: Uint8Array,
  info: ImageInfo,
  limits: { maxPixels: number; timeoutMs: number; maxHeapMb?: number },
  signal?: AbortSignal,
): Promise<RasterOutcome> {
  if (!DECODABLE.has(info.format)) {
    return { status: 'not-inspected', reason: `${IMAGE_FORMAT_NAMES[info.format]} images are not decoded here` };
  }
  const pixels = (info.width ?? 0) * (info.height ?? 0);
  if (pixels > limits.maxPixels) {
    return { status: 'not-inspected', reason: `it has ${pixels} pixels, more than the ${limits.maxPixels} decoded` };
  }
  const reply = await inWorker<RasterStats>(
    { type: 'raster', format: info.format, bytes },
    { timeoutMs: limits.timeoutMs, maxHeapMb: limits.maxHeapMb ?? 256 },
    signal,
  );
  if (reply === 'timeout')
    return { status: 'not-inspected', reason: `decoding did not finish within ${limits.timeoutMs} ms` };
  if (!reply.ok) {
    // The worker stopped (heap limit): the image is not known to be broken, only too costly here.
    if (/memory limit|exited with code/i.test(reply.error)) return { status: 'not-inspected', reason: reply.error };
    return { status: 'corrupt', reason: reply.error };
  }
  return { status: 'inspected', stats: reply.value };
}
