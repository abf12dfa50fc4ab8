/// <reference lib="dom" />
/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) over the real service of support/service.ts: sent to
 * sign-in without a session, "Sign in with GitHub" through the OAuth double,
 * the overview and its charts, keyboard navigation to a submission, a regrade
 * watched live until it finishes, the CSV download, the student page, a
 * student unable to open another's report, a phone-width viewport; axe-core
 * finds no serious or critical violation on any page. Screenshots go to
 * .labgrader-tmp/dashboard-screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDashboardService, type DashboardService } from './support/service.js';

const CHROMIUM = process.env.LABGRADER_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOTS = path.join(ROOT, '.labgrader-tmp', 'dashboard-screenshots');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

if (!HAVE_CHROMIUM) {
  process.stderr.write(
    `\n*** NOT RUN: the dashboard browser tests need Chromium at ${CHROMIUM} (apt-get install -y chromium) ***\n\n`,
  );
}

let service: DashboardService;
let browser: Browser;

async function axeViolations(page: Page): Promise<string[]> {
  // evaluate, not a script tag: the dashboard's Content-Security-Policy allows no inline script.
  await page.evaluate(AXE);
  const results = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe;
    return axe.run({ resultTypes: ['violations'] });
  })) as { violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function newContext(options: { width?: number; height?: number } = {}): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    acceptDownloads: true,
    // The double's github.com is another loopback port: nothing leaves the machine.
  });
}

async function signInWithGithub(context: BrowserContext, login: string, next: string): Promise<Page> {
  service.github.signInAs(login);
  const page = await context.newPage();
  await page.goto(`${service.url}${next}`);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
  await page.waitForURL((url) => url.pathname === next.split('?')[0]);
  return page;
}

(HAVE_CHROMIUM ? describe : describe.skip)(
  HAVE_CHROMIUM ? 'the dashboard in Chromium' : 'NOT RUN (no Chromium): the dashboard in Chromium',
  () => {
    beforeAll(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      // Each git command of the worker's clone waits 150 ms, so the page has stages to show as they go by.
      service = await startDashboardService({ gitDelayMs: 150 });
      // playwright-core starts Chromium with a fresh profile directory of its own (--user-data-dir) and removes it.
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await service?.close();
    });

    it('sends a visitor without a session to sign-in', async () => {
      const context = await newContext();
      const page = await context.newPage();
      const answer = await page.goto(`${service.url}/gradings/${service.ids.alice1}`);
      expect(answer?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      await context.close();
    }, 60_000);

    it('an instructor signs in with GitHub, reads the overview and charts, opens a submission by keyboard, regrades it live', async () => {
      const context = await newContext();
      const page = await signInWithGithub(context, 'prof-martin', '/labs/lab-85');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Lab 85: production Kubernetes',
      );
      const rows = page.locator('table.overview tbody tr');
      expect(await rows.count()).toBe(3);
      await expect(rows.nth(0).locator('th').textContent()).resolves.toContain('Alice Martin');
      await expect(rows.nth(1).textContent()).resolves.toContain('late');
      const charts = page.locator('figure.chart');
      expect(await charts.count()).toBe(5);
      expect(await page.locator('figure.chart svg[role="img"][aria-label]').count()).toBeGreaterThanOrEqual(4);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'overview.png'), fullPage: true });

      // The CSV download.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download CSV' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('lab-85-grades.csv');
      const csv = readFileSync((await download.path())!, 'utf8').split('\r\n');
      expect(csv[0]).toMatch(/^github_login,name,email,student_id,criterion:/);
      expect(csv.filter((l) => l.startsWith('alice,Alice Martin,alice@example.edu,2027001,'))).toHaveLength(1);

      // Keyboard, on a fresh load: the skip link comes first and lands in the content; tab to alice's link and open it.
      await page.goto(page.url());
      await page.keyboard.press('Tab');
      await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content');
      await page.keyboard.press('Enter');
      let reached = false;
      for (let i = 0; i < 40 && !reached; i += 1) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(
          (id) => document.activeElement?.getAttribute('href') === `/gradings/${id}`,
          service.ids.alice2,
        );
      }
      expect(reached).toBe(true);
      await Promise.all([page.waitForURL(`**/gradings/${service.ids.alice2}`), page.keyboard.press('Enter')]);

      await expect(page.getByRole('heading', { name: 'Findings', exact: false }).first().isVisible()).resolves.toBe(
        true,
      );
      expect(await page.locator('section[aria-labelledby="history-h"] tbody tr').count()).toBe(1);
      await expect(page.getByRole('link', { name: 'commit on GitHub' }).getAttribute('href')).resolves.toBe(
        `${service.github.webUrl}/course-org/lab-85-alice/commit/${service.commits.alice2}`,
      );
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'submission.png'), fullPage: true });

      // The flawed submission: its findings by file, each with the lines around it (the worker kept them).
      const flawed = await context.newPage();
      await flawed.goto(`${service.url}/gradings/${service.ids.alice1}`);
      expect(await flawed.locator('details.file').count()).toBeGreaterThan(0);
      const stored = await service.store.getById(service.ids.alice1!);
      const located = stored!.report.findings.filter((f) => f.location);
      expect(await flawed.locator('pre.source').count()).toBe(located.length);
      const first = located[0]!;
      const excerpt = stored!.excerpts!.excerpts.find(
        (e) => e.file === first.location!.file && first.location!.line >= e.startLine,
      )!;
      const hit = flawed.locator('pre.source').first().locator('.hit');
      await expect(hit.textContent()).resolves.toBe(
        `${first.location!.line}${excerpt.lines[first.location!.line - excerpt.startLine]}`,
      );
      await expect(hit.locator('.ln').textContent()).resolves.toBe(String(first.location!.line));
      expect(await axeViolations(flawed)).toEqual([]);
      await flawed.screenshot({ path: path.join(SCREENSHOTS, 'submission-findings.png'), fullPage: true });
      await flawed
        .locator('details.file')
        .first()
        .screenshot({ path: path.join(SCREENSHOTS, 'submission-excerpts.png') });

      // Carol's grading ran the drills (and was stored without excerpts): a timeline per drill, no source lines.
      await flawed.goto(`${service.url}/gradings/${service.ids.carol1}`);
      const drills = flawed.locator('li.drill');
      expect(await drills.count()).toBe(2);
      await expect(drills.first().locator('svg[role="img"]').getAttribute('aria-label')).resolves.toMatch(
        /^pod-kill: fault injected at \+0 s, desired pods Ready again at \+8\.4 s; the Service answered 57 of 60/,
      );
      await expect(drills.nth(1).locator('.drill-facts').textContent()).resolves.toContain('did not recover in time');
      expect(await flawed.locator('pre.source').count()).toBe(0);
      expect(await axeViolations(flawed)).toEqual([]);
      await flawed.locator('section[aria-labelledby="drills-h"]').screenshot({
        path: path.join(SCREENSHOTS, 'submission-drills.png'),
      });
      await flawed.close();

      // Regrade, and watch the progress arrive over server-sent events until the page reloads with it: every
      // text the progress element shows is recorded in the page as it changes.
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { seen: string[] }).seen = seen;
        const progress = document.querySelector('[data-progress]')!;
        new MutationObserver(() => seen.push(progress.textContent ?? '')).observe(progress, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.getByRole('button', { name: 'Regrade this commit' }).click();
      await page.waitForFunction(() =>
        (window as unknown as { seen?: string[] }).seen?.some((t) => /Reloading/.test(t)),
      );
      const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      expect(seen.some((t) => /^grading: fetch: cloning file:\/\//.test(t))).toBe(true);
      expect(seen.at(-1)).toMatch(/^Regraded: graded/);
      await page.waitForLoadState('load');
      await page.waitForFunction(
        () => document.querySelectorAll('section[aria-labelledby="history-h"] tbody tr').length === 2,
      );
      await expect(
        page.locator('section[aria-labelledby="history-h"] tbody tr').nth(1).textContent(),
      ).resolves.toContain('Regrade requested by prof-martin on the dashboard');

      // The whole lab: progress counts the students' regrades, and each row's status changes live.
      await page.goto(`${service.url}/labs/lab-85`);
      await page.evaluate(() => {
        const log = { progress: [] as string[], bob: [] as string[] };
        (window as unknown as { log: typeof log }).log = log;
        const watch = (el: Element, into: string[]) =>
          new MutationObserver(() => into.push(el.textContent ?? '')).observe(el, {
            childList: true,
            characterData: true,
            subtree: true,
          });
        watch(document.querySelector('[data-progress]')!, log.progress);
        watch(document.querySelector('tr[data-student="bob"] [data-live]')!, log.bob);
      });
      await page.getByRole('button', { name: 'Regrade every student’s latest push' }).click();
      await page.waitForFunction(() =>
        (window as unknown as { log?: { progress: string[] } }).log?.progress.some((t) => /^All 3 regraded/.test(t)),
      );
      const log = await page.evaluate(() => (window as unknown as { log: { progress: string[]; bob: string[] } }).log);
      expect(log.progress.at(-1)).toMatch(/^All 3 regraded/);
      expect(log.progress.some((t) => /^[12] of 3 regraded/.test(t))).toBe(true);
      expect(log.bob).toEqual(expect.arrayContaining(['grading', 'graded']));
      await context.close();
    }, 120_000);

    it('shows a student page with what changed between two gradings', async () => {
      const context = await newContext();
      const page = await signInWithGithub(context, 'prof-martin', '/students/alice');
      await page.selectOption('#from', service.ids.alice1!);
      await page.selectOption('#to', service.ids.alice2!);
      await page.getByRole('button', { name: 'Compare' }).click();
      await page.waitForURL(/from=/);
      await expect(page.locator('.diff').textContent()).resolves.toContain('Fixed');
      expect(await page.locator('li.fixed').count()).toBeGreaterThan(0);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'student.png'), fullPage: true });
      await context.close();
    }, 60_000);

    it('a student cannot open another student’s report (404) and has no overview', async () => {
      const context = await newContext();
      const page = await signInWithGithub(context, 'alice', `/gradings/${service.ids.alice1}`);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain('course-org/lab-85-alice');
      expect(await page.getByRole('button', { name: 'Regrade this commit' }).count()).toBe(0);
      const other = await page.goto(`${service.url}/gradings/${service.ids.bob1}`);
      expect(other?.status()).toBe(404);
      const overview = await page.goto(`${service.url}/labs/lab-85`);
      expect(overview?.status()).toBe(403);
      await context.close();
    }, 60_000);

    it('is readable on a phone: nothing wider than the screen but the scrollable table', async () => {
      const context = await newContext({ width: 390, height: 844 });
      const page = await signInWithGithub(context, 'prof-martin', '/labs/lab-85');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'overview-phone.png'), fullPage: true });
      await context.close();
    }, 60_000);
  },
);
