/**
 * Stage progress on stderr: one line per finished stage, and on a TTY a live
 * line for the current step so long steps (cloning, rendering, deploying)
 * are visibly alive.
 */
import { toDisplayText } from '@labgrader/core/display-text';
import type { PipelineEvent } from '@labgrader/pipeline';
import type { CliIO } from './io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  onEvent(event: PipelineEvent): void;
  stop(): void;
}

export function createProgress(io: CliIO, enabled: boolean): Progress {
  if (!enabled) return { onEvent: () => {}, stop: () => {} };
  const live = Boolean(io.stderr.isTTY);
  let current = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!live || !current) return;
    io.stderr.write(`\r\u001b[2K${FRAMES[frame++ % FRAMES.length]} ${current}`);
  };
  const clear = () => {
    if (live) io.stderr.write('\r\u001b[2K');
  };
  return {
    onEvent(event) {
      if (event.type === 'stage-start') {
        current = `${event.stage}…`;
        if (live && !timer) timer = setInterval(draw, 80);
        draw();
      } else if (event.type === 'progress') {
        // Progress messages name the student's files and objects: shown, never interpreted by the terminal.
        current = `${event.stage}: ${toDisplayText(event.message)}`;
        if (!live) io.stderr.write(`  ${current}\n`);
        draw();
      } else {
        clear();
        current = '';
        const r = event.result;
        const status = r.status === 'ok' ? '✔' : r.status === 'skipped' ? '–' : '✘';
        io.stderr.write(
          `${status} ${r.name.padEnd(7)} ${String(Math.round(r.durationMs)).padStart(6)} ms${r.status === 'ok' ? '' : `  ${r.status}${r.message ? `: ${toDisplayText(r.message)}` : ''}`}\n`,
        );
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
    },
  };
}
