/**
 * `labgrader course validate FILE...`: for instructors editing course files.
 * Self-contained, and everything it needs is imported when it runs, so the
 * other commands do not load the course package.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { RubricResolver } from '@labgrader/course';
import { EXIT, type CliIO } from '../io.js';

/**
 * Rubrics the way `labgrader grade --rubric` finds them (a file, relative to
 * the course file here, or a bundled id), and parsed, so a broken rubric is
 * reported at the lab that names it.
 */
async function builtinRubricResolver(cwd: string): Promise<RubricResolver> {
  // One at a time: module graphs imported concurrently trip jest's ESM loader.
  const { readFileSync } = await import('node:fs');
  const { ConfigError, decodeUtf8 } = await import('@labgrader/core');
  const { listBundled, resolveRubricPath, rubricEnvironment } = await import('@labgrader/builtin');
  const { parseRubric } = await import('@labgrader/rubric');
  const shownPath = (file: string) => {
    const relative = path.relative(cwd, file);
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  };
  return (ref, { baseDir }) => {
    let file: string;
    try {
      file = resolveRubricPath(ref, baseDir ?? cwd);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return {
        problem: `rubric '${ref}' not found: name a rubric file (relative to the course file) or a bundled rubric (${listBundled().join(', ')})`,
      };
    }
    const shown = shownPath(file);
    let text: string | undefined;
    try {
      text = decodeUtf8(readFileSync(file));
    } catch (err) {
      return { problem: `cannot read rubric ${shown}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    if (text === undefined) return { problem: `rubric ${shown} is not valid UTF-8 text` };
    try {
      return { id: parseRubric(text, shown, rubricEnvironment).id, file };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const more = err.problems.length > 1 ? ` (and ${err.problems.length - 1} more)` : '';
      return {
        problem: `rubric ${shown} is invalid: ${err.problems[0] ?? err.message}${more}; run \`labgrader rubric validate ${shown}\``,
      };
    }
  };
}

export function registerCourse(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const course = program
    .command('course')
    .description('work with course files (labs, repositories, deadlines, instructors)');
  course
    .command('validate')
    .description('check course files and print what each lab gets')
    .argument('<files...>', 'course YAML files')
    .action(async (files: string[]) => {
      const { ConfigError, toDisplayText } = await import('@labgrader/core');
      const { describeLab, loadCourseFile } = await import('@labgrader/course');
      const rubrics = await builtinRubricResolver(io.cwd);
      const shown = (s: string) => toDisplayText(s);
      let failed = false;
      for (const file of files) {
        try {
          const c = await loadCourseFile(path.resolve(io.cwd, file), { displayName: file, rubrics });
          const instructors = c.instructors.map((i) => (i.kind === 'user' ? i.login : `${i.org}/${i.slug}`)).join(', ');
          io.stdout.write(
            shown(
              `✔ ${file}: ${c.id}${c.title ? ` "${c.title}"` : ''}, organisation ${c.organization}, ${c.labs.length} lab${c.labs.length === 1 ? '' : 's'}, time zone ${c.timeZone}, instructors: ${instructors}${c.roster.length ? `, roster of ${c.roster.length}` : ''}`,
            ) + '\n',
          );
          for (const lab of c.labs) io.stdout.write(`  ${shown(`${lab.id}: ${describeLab(lab)}`)}\n`);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          failed = true;
          io.stderr.write(
            `✘ ${shown(err.message)}\n${err.problems.map((p) => `  ${shown(p)}\n`).join('')}${err.hint ? `hint: ${shown(err.hint)}\n` : ''}`,
          );
        }
      }
      setExit(failed ? EXIT.USAGE : EXIT.OK);
    });
}
