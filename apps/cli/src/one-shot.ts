/**
 * Settings for a process that grades once and exits, applied by each command
 * before it imports the packages that define schemas.
 *
 * zod compiles a specialised parser (`new Function`) for each object schema
 * the first time it parses with it. The worker, which parses the same
 * schemas for every job, gains from that; a command parses each of them once
 * or twice, and compiling them cost more than it saved (about 5 ms of
 * `labgrader lint` on a small lab). Parsing gives the same results either way.
 */
export async function tuneForOneRun(): Promise<void> {
  const { config } = await import('zod');
  config({ jitless: true });
}
