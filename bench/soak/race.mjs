// The race mode: cycles of `up` / `exec n1 -- ping n2` / `down` of a 3-node lab
// while a second loop runs `nslab cleanup '<lab>*'` on the same state dir
// without pause; counts every sign of the live lab damaged.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addr, labFile } from './labs.mjs';
import { netnsList, nsOf, removeNamespaces, sweep } from './machine.mjs';
import { RUN, commit, myClis, newDirs, nslab, status } from './run.mjs';

export async function raceMode({ cycles }) {
  const lab = `${RUN}-race`;
  const file = labFile(lab, 3, { services: false });
  const dirs = newDirs();
  const res = {
    date: new Date().toISOString(),
    commit: await commit(),
    run: RUN,
    cycles: 0,
    cleanups: 0,
    cleanupFailures: 0,
    removedWhileGoingDown: 0,
    damaged: 0,
    kinds: {
      'up failed': 0,
      'namespaces missing after up': 0,
      'ping failed': 0,
      'down failed': 0,
      'namespaces left after down': 0,
      'cleanup removed the lab': 0,
    },
    events: [],
  };
  const damage = (i, kind, detail = '') => {
    res.kinds[kind]++;
    if (res.events.length < 50)
      res.events.push({ cycle: i, kind, detail: detail.trim().split('\n').slice(-2).join(' | ').slice(0, 300) });
  };
  let done = false,
    cycle = 0;
  const cleanupLoop = (async () => {
    while (!done && !status.stopping) {
      const r = await nslab(['cleanup', `${lab}*`], dirs, 60_000);
      res.cleanups++;
      if (r.code !== 0) res.cleanupFailures++;
      // a lab being taken down ('removing', its `up` owner gone) may be removed by either; any other is damage
      for (const m of r.out.matchAll(/removed lab '[^']*' \((\w+)/g))
        if (m[1] === 'removing') res.removedWhileGoingDown++;
        else damage(cycle, 'cleanup removed the lab', r.out);
    }
  })();
  const t0 = performance.now();
  for (let i = 1; i <= cycles && !status.stopping; i++) {
    cycle = i;
    const before = Object.values(res.kinds).reduce((a, b) => a + b, 0);
    const up = await nslab(['up', file], dirs, 60_000);
    if (up.code !== 0) damage(i, 'up failed', up.out);
    else {
      let expected = [];
      try {
        expected = JSON.parse(readFileSync(join(dirs.state, `${lab}.json`), 'utf8')).namespaces.map((n) => n.ns);
      } catch {
        /* record gone */
      }
      const have = (await netnsList()).filter(nsOf(lab));
      const missing = expected.length ? expected.filter((n) => !have.includes(n)) : ['(record gone)'];
      if (missing.length || have.length !== 3)
        damage(i, 'namespaces missing after up', `missing ${missing.join(' ')}; have ${have.join(' ')}`);
      const ping = await nslab(['exec', lab, 'n1', '--', 'ping', '-c1', '-W2', addr(1, 2)], dirs, 30_000);
      if (ping.code !== 0) damage(i, 'ping failed', ping.out);
      const down = await nslab(['down', lab], dirs, 60_000);
      if (down.code !== 0) damage(i, 'down failed', down.out);
    }
    const left = (await netnsList()).filter(nsOf(lab));
    if (left.length) damage(i, 'namespaces left after down', left.join(' '));
    if (Object.values(res.kinds).reduce((a, b) => a + b, 0) > before) {
      res.damaged++;
      // the next cycle starts clean: this cycle's record and namespaces go
      if (existsSync(join(dirs.state, `${lab}.json`))) await nslab(['down', lab], dirs);
      await removeNamespaces((await netnsList()).filter(nsOf(lab)));
      rmSync(join(dirs.state, `${lab}.json`), { force: true });
    }
    res.cycles = i;
    if (i % 25 === 0 || i === cycles)
      console.log(
        `race ${i}/${cycles}: ${res.damaged} damaged, ${res.cleanups} cleanups, ${((performance.now() - t0) / i).toFixed(0)} ms/cycle`,
      );
  }
  done = true;
  await cleanupLoop;
  res.seconds = Math.round((performance.now() - t0) / 1000);
  await sweep(lab, dirs, myClis);
  return res;
}
