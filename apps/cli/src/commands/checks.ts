import { Option, type Command } from 'commander';
import type { CliIO } from '../io.js';
import { tuneForOneRun } from '../one-shot.js';

/** `labgrader checks`: every check id a rubric can use, with its options and their defaults. */
export function registerChecks(program: Command, io: CliIO): void {
  program
    .command('checks')
    .description('list the checks a rubric can use, with their options')
    .addOption(new Option('--stage <stage>', 'only this stage').choices(['docs', 'lint', 'cluster']))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (flags: { stage?: string; format: 'text' | 'json' }) => {
      // Imported when the command runs, so that other commands (and `--help`) do not load them.
      await tuneForOneRun();
      const { builtinCatalog } = await import('@labgrader/builtin');
      const { z } = await import('zod');
      const checks = builtinCatalog.list().filter((c) => !flags.stage || c.stage === flags.stage);
      if (flags.format === 'json') {
        const out = checks.map((c) => ({
          id: c.id,
          stage: c.stage,
          title: c.title,
          severity: c.severity,
          rationale: c.rationale,
          fixHint: c.fixHint,
          docsUrl: c.docsUrl,
          defaults: c.options.parse({}),
          optionsSchema: z.toJSONSchema(c.options, { io: 'input', unrepresentable: 'any' }),
        }));
        io.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      for (const c of checks) {
        io.stdout.write(`${c.id}  (${c.severity})\n  ${c.title}\n`);
        const defaults = c.options.parse({}) as Record<string, unknown>;
        const keys = Object.keys(defaults ?? {});
        if (keys.length > 0)
          io.stdout.write(`  options: ${keys.map((k) => `${k}=${JSON.stringify(defaults[k])}`).join(', ')}\n`);
        io.stdout.write('\n');
      }
      io.stdout.write(`${checks.length} checks\n`);
    });
}
