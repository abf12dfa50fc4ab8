/** Real image bytes built in the test (no binary blobs to review). */
import { crc32, deflateSync } from 'node:zlib';
import jpegJs from 'jpeg-js';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed) >>> 0);
  return Buffer.concat([length, typed, crc]);
}

/** A valid grayscale PNG of the given size: grey with a black frame and a black bar, so it shows something. */
export function png(width: number, height: number, options: { flat?: boolean } = {}): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let y = 0; y < height; y++) {
    rows[y * (width + 1)] = 0; // filter byte
    if (options.flat) continue;
    for (let x = 0; x < width; x++) {
      const frame = x < 2 || y < 2 || x >= width - 2 || y >= height - 2;
      const bar = y >= height / 2 - 2 && y < height / 2 + 2 && x > width / 4 && x < (3 * width) / 4;
      if (frame || bar) rows[y * (width + 1) + 1 + x] = 0;
    }
  }
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(rows)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

export function gif(width: number, height: number): Uint8Array {
  const b = Buffer.alloc(13 + 1);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  b[13] = 0x3b; // trailer
  return new Uint8Array(b);
}

/** A real baseline JPEG (jpeg-js): white with a dark box. */
export function jpeg(width: number, height: number): Uint8Array {
  const data = Buffer.alloc(width * height * 4, 0xff);
  for (let y = Math.floor(height / 4); y < (3 * height) / 4; y++) {
    for (let x = Math.floor(width / 4); x < (3 * width) / 4; x++)
      data.fill(0x20, (y * width + x) * 4, (y * width + x) * 4 + 3);
  }
  return new Uint8Array(jpegJs.encode({ data, width, height }, 80).data);
}

/** SOI, APP0/JFIF, SOF0 with the dimensions, EOI: a header without image data (a truncated JPEG). */
export function jpegHeader(width: number, height: number): Uint8Array {
  const app0 = Buffer.from([
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
  const sof = Buffer.alloc(19);
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  sof.set([0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01], 9);
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]));
}

/** An extended-format (VP8X) WebP header. */
export function webp(width: number, height: number): Uint8Array {
  const b = Buffer.alloc(30);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(22, 4);
  b.write('WEBP', 8, 'latin1');
  b.write('VP8X', 12, 'latin1');
  b.writeUInt32LE(10, 16);
  b.writeUIntLE(width - 1, 24, 3);
  b.writeUIntLE(height - 1, 27, 3);
  return new Uint8Array(b);
}

export const DIAGRAM_SVG = `<?xml version="1.0"?>
<!-- exported -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200">
  <rect x="0" y="0" width="100" height="50"/><text x="10" y="30">web</text>
  <rect x="200" y="0" width="100" height="50"/><text x="210" y="30">db</text>
  <path d="M100 25 L200 25"/>
</svg>`;
