// The HTML report of a real failing run, opened in a real headless browser
// (Debian's chromium, driven by playwright-core): the workshop case of a bundled
// lab, brought up at its bug stage and graded against its fix stage's tests by
// the shipped CLI. The page is read as a user sees it: test names, verdicts, the
// paths drawn in an SVG, the pcap links resolving to the kept files, nothing
// fetched from the network; and a screenshot is taken (kept beside the page).
//
// Safe on a shared machine: its own instances (v<random>), taken down by name.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser } from '../../scripts/browser.mjs';
import { CLI, isRoot, namespaces, tempDir, uid } from './helpers.js';

const LAB = join(process.cwd(), 'labs/dual-nic-reply-path.yaml');
const instance = `dual-nic-reply-path.v${uid()}`;
const dirs: string[] = [];
const nslab = (args: string[], cwd?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

afterAll(() => {
  if (isRoot) {
    nslab(['down', instance]);
    expect(namespaces(`nslab-${instance}.`)).toEqual([]);
  }
  if (!process.env.NSLAB_KEEP_REPORT) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const canRun = isRoot && hasChromium();
describe.skipIf(!canRun)(
  `the HTML report of a failing run, in headless Chromium${canRun ? '' : ' (needs root and /usr/bin/chromium)'}`,
  () => {
    it('nslab check --html: the page shows the failures, their paths and pcaps', async () => {
      const dir = tempDir();
      dirs.push(dir);
      const up = nslab(['up', LAB, '--instance', instance.split('.')[1]!, '--stage', 'without policy routing']);
      expect(up.status, up.stderr).toBe(0);
      const check = nslab([
        'check',
        instance,
        '--stage',
        'with a routing table for eth1',
        '--html',
        dir,
        '--artifacts',
        join(dir, 'pcaps'),
      ]);
      expect(check.status, check.stderr).toBe(1);
      expect(nslab(['down', instance]).status).toBe(0);
      const file = join(dir, 'report.html');
      expect(existsSync(file)).toBe(true);

      const browser = await openBrowser({ width: 1200, height: 900 });
      try {
        const page = await browser.context.newPage();
        const requests: string[] = [];
        page.on('request', (r: { url(): string }) => requests.push(r.url()));
        await page.goto(`file://${file}`);
        expect(await page.title()).toBe('nslab: 1 passed, 2 failed');
        expect(await page.locator('#summary').innerText()).toBe('1 passed, 2 failed');
        // the pictures show the lab as it was up (the bug stage), not as the checked stage expects it
        expect(await page.locator('.applied').innerText()).toBe(
          'the lab was up at stage without policy routing; the pictures show it so',
        );
        const tests = await page.locator('article.test').evaluateAll((els: Element[]) =>
          els.map((el) => ({
            name: el.querySelector('.name')!.textContent,
            verdict: el.querySelector('.verdict')!.textContent,
          })),
        );
        expect(tests).toEqual([
          { name: 'replies leave through the NIC they came in on', verdict: 'failed' },
          { name: "a client on eth1's subnet is still answered on eth1", verdict: 'passed' },
          { name: "the kernel picks table gateway1 for eth1's address", verdict: 'failed' },
        ]);
        // the ping that failed: its paths drawn, request and reply, the reply's divergence at server:eth0
        const failure = page.locator('article.test.failed').first();
        expect(await failure.locator('table.checks tr.bad').allInnerTexts()).toEqual(
          expect.arrayContaining([expect.stringMatching(/^✗\s+reply-via\s+server:eth1\s+server:eth0$/)]),
        );
        // the why names the rule and route that sent the reply out of eth0; the hint is the fix stage's rule
        const why = await failure.locator('.why').innerText();
        expect(why).toMatch(/matched rule 32766 \(main\) → default via 10\.0\.0\.1 dev eth0/);
        expect(why).toMatch(/hint\s+on server: ip rule add from 192\.168\.1\.220 table gateway1/);
        const svg = failure.locator('details.paths svg');
        expect(await svg.isVisible()).toBe(true);
        expect(await svg.locator('g.edge.path.request').count()).toBeGreaterThan(0);
        expect(await svg.locator('g.edge.path.reply').count()).toBeGreaterThan(0);
        expect(await svg.locator('g.edge.path.reply > title').allTextContents()).toContain('server:eth0--router:net0');
        expect(await svg.locator('g.edge.path.request > title').allTextContents()).toContain('server:eth1--sw1:p1');
        expect(
          await svg.locator('g.node', { hasText: 'reply diverges here' }).locator('title').allTextContents(),
        ).toEqual(['server']);
        // the paths are drawn in two colours
        const strokes = await svg
          .locator('g.edge.path path')
          .evaluateAll((ps: Element[]) => [...new Set(ps.map((p) => p.getAttribute('stroke')))].sort());
        expect(strokes).toEqual(['#2563eb', '#ea580c']);
        // a passing test has none of that marked
        expect(await page.locator('article.test.passed svg g.node', { hasText: 'diverges' }).count()).toBe(0);
        // pcaps: relative links that resolve to the kept files
        const pcaps = await failure
          .locator('.pcaps a')
          .evaluateAll((as: Element[]) => as.map((a) => (a as HTMLAnchorElement).href));
        expect(pcaps.length).toBeGreaterThan(0);
        for (const href of pcaps) {
          expect(href.startsWith(`file://${dir}/pcaps/`)).toBe(true);
          expect(statSync(fileURLToPath(href)).size).toBeGreaterThan(24);
        }
        expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
        const png = join(dir, 'report.png');
        await page.screenshot({ path: png, fullPage: true });
        const head = readFileSync(png);
        expect(head.subarray(1, 4).toString()).toBe('PNG');
        expect(head.readUInt32BE(16)).toBe(1200); // width
        expect(head.readUInt32BE(20)).toBeGreaterThan(1200); // the whole page, not one screen
      } finally {
        await browser.close();
      }
    });

    it('nslab test --reporter html: the page on stdout, and report.html beside the other reports in --artifacts', () => {
      const dir = tempDir();
      dirs.push(dir);
      const r = nslab(
        [
          'test',
          LAB,
          '--stage',
          'eth0 down, without policy routing',
          '--grep',
          'unreachable',
          '--reporter',
          'html',
          '--artifacts',
          join(dir, 'art'),
        ],
        dir,
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith('<!doctype html>')).toBe(true);
      expect(r.stdout).toContain(
        '<span class="name">eth1 is unreachable from other networks</span><span class="verdict passed">passed</span>',
      );
      // beside the JSON and JUnit reports in --artifacts
      expect(readFileSync(join(dir, 'art', 'report.html'), 'utf8')).toContain(
        'eth1 is unreachable from other networks',
      );
    });
  },
);
