import { describe, expect, it } from '@jest/globals';
import { extensionOf, resolveTarget } from '../src/images/resolve.js';
import { sniffImage } from '../src/images/sniff.js';
import { DIAGRAM_SVG, gif, jpeg, png, webp } from './helpers/images.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('sniffImage', () => {
  it('detects the four raster formats by their bytes and reads their dimensions', () => {
    expect(sniffImage(png(320, 180))).toEqual({ ok: true, info: { format: 'png', width: 320, height: 180 } });
    expect(sniffImage(gif(640, 480))).toEqual({ ok: true, info: { format: 'gif', width: 640, height: 480 } });
    expect(sniffImage(jpeg(800, 600))).toEqual({ ok: true, info: { format: 'jpeg', width: 800, height: 600 } });
    expect(sniffImage(webp(1024, 768))).toEqual({ ok: true, info: { format: 'webp', width: 1024, height: 768 } });
    expect(sniffImage(png(1, 1))).toEqual({ ok: true, info: { format: 'png', width: 1, height: 1 } });
  });

  it('reads SVG by its root element after the prolog, with size, drawing elements and labels', () => {
    expect(sniffImage(text(DIAGRAM_SVG))).toEqual({
      ok: true,
      info: { format: 'svg', width: 400, height: 200, drawingElements: 5, labels: ['web', 'db'] },
    });
    // draw.io's HTML labels, entities decoded, tspans joined.
    expect(
      sniffImage(
        text(
          '<svg xmlns="http://www.w3.org/2000/svg"><rect/><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">Service&#32;<b>web</b></div></foreignObject><text><tspan>PostgreSQL</tspan> <tspan>(StatefulSet)</tspan></text></svg>',
        ),
      ),
    ).toMatchObject({ ok: true, info: { labels: ['Service web', 'PostgreSQL (StatefulSet)'] } });
    expect(
      sniffImage(text('\ufeff<svg:svg xmlns:svg="http://www.w3.org/2000/svg" width="10px" height="20"/>')),
    ).toEqual({
      ok: true,
      info: { format: 'svg', width: 10, height: 20, drawingElements: 0, labels: [] },
    });
  });

  it('says what non-images are', () => {
    const what = (bytes: Uint8Array): string => {
      const r = sniffImage(bytes);
      return r.ok ? 'image' : `${r.problem}: ${r.what}`;
    };
    expect(what(new Uint8Array())).toBe('empty: empty (0 bytes)');
    expect(what(text('<!DOCTYPE html><html></html>'))).toBe(
      'not-an-image: an HTML page (often a saved GitHub page instead of the raw image)',
    );
    expect(what(text('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1234\n'))).toBe(
      'not-an-image: a Git LFS pointer, not the image itself',
    );
    expect(what(text('<mxfile host="app.diagrams.net"><diagram/></mxfile>'))).toBe(
      'not-an-image: a draw.io source file',
    );
    expect(what(text('{"type":"excalidraw","version":2}'))).toBe('not-an-image: an Excalidraw source file');
    expect(what(text('<?xml version="1.0"?><html/>'))).toBe(
      'not-an-image: XML whose root element is <html>, not <svg>',
    );
    expect(what(text('hello world\nsecond line'))).toBe("not-an-image: text starting with 'hello world'");
    expect(what(text('<svg xmlns="http://www.w3.org/2000/svg"><rect/>'))).toBe(
      'corrupt: a truncated SVG (no closing </svg>)',
    );
    expect(what(png(300, 200).slice(0, 20))).toBe('corrupt: a corrupt or truncated PNG');
    expect(what(new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0xff, 0xfe]))).toBe('not-an-image: a PDF document');
    expect(what(new Uint8Array([0x00, 0xff, 0x13, 0x80]))).toBe('not-an-image: binary data of an unknown type');
  });
});

describe('resolveTarget', () => {
  it('resolves relative, ./, ../ and root-relative paths like GitHub does', () => {
    expect(resolveTarget('architecture.svg', 'docs')).toEqual({ kind: 'local', path: 'docs/architecture.svg' });
    expect(resolveTarget('./img/a.png', 'docs')).toEqual({ kind: 'local', path: 'docs/img/a.png' });
    expect(resolveTarget('../img/a.png', 'docs')).toEqual({ kind: 'local', path: 'img/a.png' });
    expect(resolveTarget('/img/a.png', 'docs')).toEqual({ kind: 'local', path: 'img/a.png' });
    expect(resolveTarget('my%20diagram.png?raw=true#frag', '')).toEqual({ kind: 'local', path: 'my diagram.png' });
    expect(resolveTarget(' docs/A.PNG ', '')).toEqual({ kind: 'local', path: 'docs/A.PNG' });
  });

  it('refuses paths out of the repository and paths only a student computer has', () => {
    const reason = (url: string, dir = ''): string => {
      const r = resolveTarget(url, dir);
      return r.kind === 'invalid' ? r.reason : r.kind;
    };
    expect(reason('../../etc/passwd', 'docs')).toBe('a path that leads outside the repository');
    expect(reason('/../etc/passwd')).toBe('a path that leads outside the repository');
    expect(reason('C:\\Users\\me\\diagram.png')).toBe('an absolute Windows path (it only exists on your computer)');
    expect(reason('file:///home/me/diagram.png')).toBe('a file: URL (it only exists on your computer)');
    expect(reason('docs\\diagram.png')).toBe('a path with backslashes (use forward slashes: a/b.png)');
    expect(reason('bad%E0%A4%A.png')).toBe('a path with malformed %-escapes');
    expect(reason('#section')).toBe('only a query or fragment, no path');
    expect(reason('docs/..')).toBe('a directory, not a file');
    expect(reason('javascript:alert(1)')).toBe('a javascript: URL, which is not an image file');
  });

  it('classifies remote URLs and decodes data: URIs', () => {
    expect(resolveTarget('https://i.imgur.com/x.png', '')).toEqual({
      kind: 'remote',
      url: 'https://i.imgur.com/x.png',
      host: 'i.imgur.com',
    });
    expect(resolveTarget('//cdn.example.com/x.png', '')).toMatchObject({ kind: 'remote', host: 'cdn.example.com' });
    const data = resolveTarget(`data:image/png;base64,${Buffer.from(png(100, 100)).toString('base64')}`, '');
    expect(data.kind === 'data' && sniffImage(data.bytes)).toEqual({
      ok: true,
      info: { format: 'png', width: 100, height: 100 },
    });
    expect(resolveTarget('data:image/svg+xml,%3Csvg%2F%3E', '')).toEqual({
      kind: 'data',
      mediaType: 'image/svg+xml',
      bytes: text('<svg/>'),
    });
    expect(resolveTarget(`data:image/png;base64,${'A'.repeat(100)}`, '', 10)).toEqual({
      kind: 'invalid',
      reason: 'a data: URI larger than the 10-byte image limit',
    });
  });

  it('takes extensions from the path, ignoring query and fragment', () => {
    expect(extensionOf('docs/Arch.PNG?raw=1')).toBe('png');
    expect(extensionOf('https://x.io/a/b.drawio#x')).toBe('drawio');
    expect(extensionOf('docs/.hidden')).toBe('');
    expect(extensionOf('Makefile')).toBe('');
  });
});
