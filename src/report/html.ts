// The HTML reporter: one self-contained page per run (inline CSS and SVG, no
// script, nothing fetched), readable from the file system. Per lab its topology
// (base and per stage, the stage's changes marked), per test its verdict, the
// checks, the why, the observed paths drawn on the topology, and relative links
// to the pcaps kept.
import { relative, sep } from 'node:path';
import { toDot, COLORS } from '../graph/dot.js';
import { overlay, tracesOf } from '../graph/paths.js';
import { dotToSvg, svgElement } from '../graph/svg.js';
import { topology } from '../graph/topology.js';
import type { LabModel } from '../lab/model.js';
import { loadLab } from '../lab/resolve.js';
import { summaryLine, totals, type LabRun, type TestResult } from '../run/results.js';
import type { Trace, TraceHop } from '../traces/trace.js';

export interface HtmlOptions {
  /** the directory the page is written to: pcap links are relative to it */
  dir: string;
  /** when the run started (the page's date) */
  date?: Date;
  /** the labs' models, by file; loaded from the file when absent */
  models?: Map<string, LabModel>;
  /**
   * `nslab check`: the lab was up at this stage (undefined: its base) while another
   * stage's tests ran, so the pictures show what was applied, not what the tests expect.
   */
  applied?: { stage?: string };
}

const e = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const href = (dir: string, file: string) => relative(dir, file).split(sep).map(encodeURIComponent).join('/');
/** A lab file (or file:line:col) as the reader knows it: relative to the current directory when under it. */
const shown = (p: string) => {
  const r = relative(process.cwd(), p);
  return p.startsWith('/') && r && !r.startsWith('..') ? r : p;
};
const MARK = { passed: '✓', failed: '✗', skipped: '–' } as const;

export async function htmlReport(runs: LabRun[], o: HtmlOptions): Promise<string> {
  const t = totals(runs);
  const failed = t.failed + t.errors;
  const body: string[] = [];
  for (const r of runs) body.push(await labSection(r, o));
  const failures = runs.flatMap((r) =>
    r.tests
      .filter((x) => x.status === 'failed')
      .map((x) => `<li><a href="#${testId(r, x)}">${MARK.failed} ${e(`${x.lab} › ${x.stage} › ${x.name}`)}</a></li>`),
  );
  const nav = runs
    .map((r) => {
      const f = r.tests.filter((x) => x.status === 'failed').length + (r.error ? 1 : 0);
      return `<li><a href="#lab-${slug(r.lab)}-${slug(r.instance)}" class="${f ? 'failed' : 'passed'}">${f ? MARK.failed : MARK.passed} ${e(r.lab)}</a> <span class="dim">${r.tests.length} tests</span></li>`;
    })
    .join('');
  const date = (o.date ?? new Date())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nslab: ${e(summaryLine(runs))}</title>
<style>${CSS}</style>
</head>
<body>
<header class="${failed ? 'failed' : 'passed'}">
  <h1>nslab report</h1>
  <p class="summary" id="summary">${e(summaryLine(runs))}</p>
  <p class="totals"><span class="chip passed">${t.passed} passed</span><span class="chip failed">${failed} failed</span>${t.skipped ? `<span class="chip skipped">${t.skipped} skipped</span>` : ''}<span class="dim">${e(date)}</span></p>
  <ul class="nav">${nav}</ul>${failures.length ? `\n  <ul class="failures">${failures.join('')}</ul>` : ''}
</header>
<main>
${body.join('\n')}
</main>
<footer class="dim">Paths: <span class="req">request</span> and <span class="rep">reply</span>, an arrow the way each crossed a link; a red node is where a path diverged from the expectation or ended. <span class="add">+ green</span>: what the stage added; dashed grey: a link whose interface is down.</footer>
</body>
</html>
`;
}

async function labSection(r: LabRun, o: HtmlOptions): Promise<string> {
  let model = o.models?.get(r.file);
  let modelError: string | undefined;
  if (!model)
    try {
      model = loadLab(r.file);
    } catch (x) {
      modelError = (x as Error).message.split('\n')[0];
    }
  const out: string[] = [];
  const f = r.tests.filter((x) => x.status === 'failed').length;
  out.push(`<section class="lab" id="lab-${slug(r.lab)}-${slug(r.instance)}">`);
  out.push(
    `<h2><span class="${f || r.error ? 'failed' : 'passed'}">${f || r.error ? MARK.failed : MARK.passed}</span> ${e(r.lab)} <span class="dim file">${e(shown(r.file))} · ${Math.round(r.durationMs)} ms</span></h2>`,
  );
  if (model?.description) out.push(`<p class="desc">${e(model.description)}</p>`);
  if (r.error) out.push(`<p class="error">${e(r.error)}</p>`);
  if (r.kept)
    out.push(
      `<p class="kept">kept up for inspection: <code>${e(r.kept)}</code> (<code>nslab shell ${e(r.kept)} NODE</code>; <code>nslab down ${e(r.kept)}</code>)</p>`,
    );
  if (modelError) out.push(`<p class="dim">no pictures: the lab file cannot be read now (${e(modelError)})</p>`);
  if (o.applied)
    out.push(
      `<p class="applied">the lab was up at ${o.applied.stage ? `stage <b>${e(o.applied.stage)}</b>` : 'its base (no stage applied)'}; the pictures show it so</p>`,
    );
  if (model)
    out.push(
      `<details class="topo" open><summary>topology</summary>${await picture(model, o.applied?.stage)}</details>`,
    );
  const stages = [...new Set(r.tests.map((x) => x.stage))];
  for (const s of stages) {
    const tests = r.tests.filter((x) => x.stage === s);
    const stage = model?.stages.find((x) => x.name === s);
    out.push(`<div class="stage"><h3>${e(s)}</h3>`);
    if (stage?.description) out.push(`<p class="desc">${e(stage.description)}</p>`);
    // closed: the paths of its tests are drawn on it anyway
    if (model && stage?.apply.size && !o.applied)
      out.push(
        `<details class="topo"><summary>topology at this stage (its changes in green)</summary>${await picture(model, s)}</details>`,
      );
    for (const x of tests) out.push(await testArticle(x, testId(r, x), model, o));
    out.push('</div>');
  }
  out.push('</section>');
  return out.join('\n');
}

async function picture(model: LabModel, stage?: string, traces?: Trace[]): Promise<string> {
  const topo = topology(model, stage);
  return `<div class="svg">${svgElement(await dotToSvg(toDot(topo, traces && overlay(traces, topo))))}</div>`;
}

const testId = (run: LabRun, r: TestResult) => `t-${slug(run.instance)}-${slug(r.stage)}-${slug(r.name)}`;

async function testArticle(r: TestResult, id: string, model: LabModel | undefined, o: HtmlOptions): Promise<string> {
  const out: string[] = [];
  out.push(`<article class="test ${r.status}" id="${id}" data-status="${r.status}">`);
  out.push(
    `<div class="head"><span class="mark">${MARK[r.status]}</span><span class="name">${e(r.name)}</span><span class="verdict ${r.status}">${r.status}</span><span class="dim">${e(r.probe)} · ${Math.round(r.durationMs)} ms</span></div>`,
  );
  if (r.reason) out.push(`<p class="reason">${e(r.reason)}</p>`);
  for (const s of r.services ?? [])
    out.push(
      `<div class="service-dead"><b>service ${e(s.service)} of node ${e(s.node)}</b>: ${e(s.exit)} at ${e(s.at)}${s.log ? ` · <a href="${e(href(o.dir, s.log))}" title="${e(s.log)}">its log</a>` : ''}${s.tail.length ? `<pre>${e(s.tail.join('\n'))}</pre>` : ' · its log is empty'}</div>`,
    );
  if (r.checks.length) {
    out.push('<table class="checks"><tr><th></th><th>check</th><th>expected</th><th>observed</th></tr>');
    for (const c of r.checks)
      out.push(
        `<tr class="${c.ok ? 'ok' : 'bad'}"><td>${c.ok ? '✓' : '✗'}</td><td>${e(c.name)}</td><td>${e(c.expected)}</td><td>${e(c.observed)}${c.notObserved ? ' <span class="dim">(not observed)</span>' : ''}</td></tr>`,
      );
    out.push('</table>');
  }
  for (const w of r.why ?? []) {
    out.push(
      `<div class="why"><div><b>why</b> <code>${e(w.decision)}</code></div>${w.cause && w.cause !== w.decision ? `<div><b>cause</b> ${e(w.cause)}</div>` : ''}${w.hint ? `<div><b>hint</b> <code>${e(w.hint)}</code></div>` : ''}${w.noFix ? `<div><b>no fix found</b> ${e(w.noFix)}</div>` : ''}</div>`,
    );
  }
  const traces = model
    ? tracesOf(
        r,
        model.nodes.map((n) => n.name),
      )
    : [];
  if (traces.length || r.request !== undefined) {
    const text = traces
      .map(
        (t) =>
          `<div class="path ${t.direction === 'request' ? 'req' : 'rep'}"><b>${t.direction}</b> ${t.hops.map((h) => hopText(h, o.dir)).join(' → ') || '(not seen)'} <span class="disp">${e(t.disposition)}${t.detail ? `: ${e(t.detail)}` : ''}</span></div>`,
      )
      .join('');
    const svg =
      model && traces.some((t) => t.hops.length)
        ? await picture(model, o.applied ? o.applied.stage : r.stage, traces)
        : '';
    out.push(
      `<details class="paths"${r.status === 'failed' ? ' open' : ''}><summary>observed paths</summary>${text}${svg ? LEGEND + svg : ''}</details>`,
    );
  }
  const facts = Object.entries(r.facts).filter(([, v]) => v);
  if (facts.length)
    out.push(`<p class="facts">${facts.map(([k, v]) => `<span><b>${e(k)}</b> ${e(v)}</span>`).join(' ')}</p>`);
  if (r.artifacts.length) {
    // one pcap per node, named <test>--<node>.pcap: the link text is what differs, the node's part
    const names = r.artifacts.map((a) => a.split('/').at(-1)!);
    const common =
      names.length > 1
        ? names.reduce((p, n) => {
            let i = 0;
            while (i < p.length && p[i] === n[i]) i++;
            return p.slice(0, i);
          })
        : '';
    out.push(
      `<p class="pcaps">pcaps: ${r.artifacts.map((a, i) => `<a href="${e(href(o.dir, a))}" title="${e(a)}">${e(names[i]!.slice(common.length) || names[i]!)}</a>`).join(' ')}</p>`,
    );
  }
  out.push(`<p class="at dim">${e(shown(r.at))}</p>`);
  out.push('</article>');
  return out.join('\n');
}

/** A hop as `in>node>out`; with its evidence, a link to the node's pcap and the frames in its title. */
function hopText(h: TraceHop, dir: string): string {
  const text = e(`${h.in ? `${h.in}>` : ''}${h.node}${h.out ? `>${h.out}` : ''}`);
  const nat = h.nat ? ` <span class="nat">NAT → ${e(h.nat.src)} → ${e(h.nat.dst)}</span>` : '';
  const pcap = h.evidence.find((x) => x.pcap)?.pcap;
  const frames = h.evidence
    .map((x) => `frame ${x.frame} ${x.dir} ${x.iface} at ${new Date(x.ts * 1000).toISOString().slice(11, 23)}`)
    .join('; ');
  return (
    (pcap
      ? `<a class="hop" href="${e(href(dir, pcap))}" title="${e(frames)}">${text}</a>`
      : frames
        ? `<span class="hop" title="${e(frames)}">${text}</span>`
        : text) + nat
  );
}

const LEGEND = `<p class="legend"><span class="swatch req"></span>request <span class="swatch rep"></span>reply <span class="swatch mark"></span>where a path diverged or ended <span class="add">+ green</span> added by the stage</p>`;

const CSS = `
:root { --ink: #0f172a; --dim: #64748b; --line: #e2e8f0; --pass: #15803d; --fail: #dc2626; --skip: #a16207; --req: ${COLORS.request}; --rep: ${COLORS.reply}; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #f8fafc; }
header { padding: 20px 32px 14px; background: #fff; border-bottom: 4px solid var(--pass); }
header.failed { border-bottom-color: var(--fail); }
h1 { margin: 0; font-size: 20px; }
.summary { margin: 4px 0; font-size: 18px; font-weight: 600; }
header.failed .summary { color: var(--fail); } header.passed .summary { color: var(--pass); }
.chip { display: inline-block; padding: 1px 10px; margin-right: 6px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; }
.chip.passed { background: var(--pass); } .chip.failed { background: var(--fail); } .chip.skipped { background: var(--skip); }
header span.chip, .head span.verdict { color: #fff; }
.nav { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.nav a { text-decoration: none; font-weight: 600; } a.passed { color: var(--pass); } a.failed { color: var(--fail); }
main { padding: 8px 32px 24px; max-width: 1400px; }
.lab { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 4px 20px 12px; margin: 18px 0; }
h2 { font-size: 18px; margin: 12px 0 4px; } h3 { font-size: 15px; margin: 18px 0 6px; padding-top: 10px; border-top: 1px solid var(--line); }
.file { font-weight: 400; font-size: 12px; }
.desc { margin: 2px 0 8px; color: #334155; max-width: 110ch; }
.dim { color: var(--dim); font-size: 12px; }
span.passed { color: var(--pass); } span.failed { color: var(--fail); }
.error, .reason { color: var(--fail); font-weight: 600; margin: 6px 0; white-space: pre-wrap; }
.service-dead { margin: 6px 0; font-size: 13px; } .service-dead pre { margin: 4px 0; padding: 6px; background: #fff; border: 1px solid var(--line); overflow-x: auto; }
details > summary { cursor: pointer; color: var(--dim); font-size: 12px; margin: 4px 0; }
.svg { overflow-x: auto; margin: 6px 0; }
.svg svg { max-width: 100%; height: auto; }
.svg svg text { font-family: Verdana, "DejaVu Sans", sans-serif; }
.test { border-left: 4px solid var(--line); padding: 6px 12px; margin: 8px 0; }
.test.passed { border-left-color: var(--pass); } .test.skipped { border-left-color: var(--skip); }
.test.failed { border-left-color: var(--fail); background: #fef2f2; }
.head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.head .name { font-weight: 600; }
.mark { font-weight: 700; width: 1em; } .passed .mark { color: var(--pass); } .failed .mark { color: var(--fail); } .skipped .mark { color: var(--skip); }
.verdict { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; padding: 0 6px; border-radius: 4px; color: #fff; }
.verdict.passed { background: var(--pass); } .verdict.failed { background: var(--fail); } .verdict.skipped { background: var(--skip); }
table.checks { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
table.checks th { text-align: left; color: var(--dim); font-weight: 500; font-size: 12px; padding: 2px 10px 2px 0; }
table.checks td { padding: 2px 10px 2px 0; vertical-align: top; }
table.checks tr.bad td { color: var(--fail); } table.checks tr.ok td:first-child { color: var(--pass); }
.why { margin: 8px 0; padding: 8px 12px; background: #fff7ed; border: 1px solid #fed7aa; border-radius: 6px; }
.why code, .kept code { white-space: pre-wrap; }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
.path { font: 12.5px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
.path b { display: inline-block; width: 5.5em; } .path.req b { color: var(--req); } .path.rep b { color: var(--rep); }
.disp { color: var(--dim); }
.legend { margin: 8px 0 0; font-size: 12px; color: var(--dim); }
.swatch { display: inline-block; width: 18px; height: 4px; border-radius: 2px; vertical-align: middle; margin: 0 4px 0 10px; }
.swatch.req { background: var(--req); } .swatch.rep { background: var(--rep); } .swatch.mark { background: var(--fail); height: 10px; width: 10px; }
.failures { list-style: none; padding: 0; margin: 6px 0 0; font-size: 13px; } .failures a { color: var(--fail); text-decoration: none; }
a.hop { color: inherit; text-decoration: none; border-bottom: 1px dotted; } .nat { color: #7c3aed; }
.applied { margin: 4px 0; padding: 4px 10px; background: #eff6ff; border: 1px solid #bfdbfe; border-radius: 6px; display: inline-block; }
.facts span { margin-right: 14px; font-size: 12px; }
.pcaps a { margin-right: 10px; font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
.at { margin: 2px 0 0; }
footer { padding: 12px 32px 24px; }
.req { color: var(--req); font-weight: 600; } .rep { color: var(--rep); font-weight: 600; } .add { color: var(--pass); font-weight: 600; }
`;
