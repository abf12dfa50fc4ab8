/**
 * The terminal is an output boundary too: a student's directory and file
 * names reach the progress lines, error messages and the text report. A
 * hostile repository whose names carry escape sequences (an OSC 8 hyperlink,
 * a screen clear, a bidi override) must not get a single control byte to the
 * terminal; the names are still shown, in visible form.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../../test/support/cli.js';

const HOSTILE_NAME = 'over\u001b]8;;evil.example\u0007lay\u001b[2J\u202e';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'labgrader-hostile-output-'));
  const overlay = path.join(dir, 'k8s', HOSTILE_NAME);
  mkdirSync(overlay, { recursive: true });
  writeFileSync(path.join(overlay, 'kustomization.yaml'), 'resources:\n  - cm.yaml\n');
  writeFileSync(
    path.join(overlay, 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\u001b[31mred"\ndata:\n  k: v\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every C0 control but newline, ESC, DEL, C1 and bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('hostile names on the terminal', () => {
  it('progress, report and messages carry no control character, and still show the names', async () => {
    const run = await runCli(['lint', dir, '--format', 'text', '--fail-on', 'none'], { env: { NO_COLOR: '1' } });
    expect(run.stderr).toContain('rendering kustomization k8s/over␛]8;;evil.example␇lay␛[2J<U+202E>');
    expect(run.stderr).not.toMatch(CONTROL);
    expect(run.stdout).not.toMatch(CONTROL);
    expect(`${run.stdout}${run.stderr}`).toContain('lay␛[2J');
  });
});
