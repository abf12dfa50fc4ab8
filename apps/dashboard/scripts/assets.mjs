// Bundles the dashboard's browser assets into dist/assets (minified with esbuild; no CDN, works offline).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.join(root, 'dist', 'assets');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'assets', 'dashboard.js'), path.join(root, 'assets', 'dashboard.css')],
  outdir: out,
  minify: true,
  bundle: true,
  target: ['es2019', 'chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
});
