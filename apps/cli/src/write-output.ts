import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@labgrader/core/errors';
import type { CliIO } from './io.js';

/** Writes to --out atomically (temp file + rename) so a crash never leaves half a report; else to stdout. */
export async function writeOutput(io: CliIO, text: string, out: string | undefined): Promise<void> {
  if (!out) {
    io.stdout.write(text);
    return;
  }
  const target = path.resolve(io.cwd, out);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, target);
  } catch (err) {
    throw new UsageError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      hint: 'Check that the directory exists and is writable.',
    });
  }
  io.stderr.write(`report written to ${out}\n`);
}
