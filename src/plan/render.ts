// Renders a plan as a plain shell script a learner could run by hand, or as JSON.
import { oneLine } from '../errors.js';
import type { Plan, Step } from './step.js';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
export function shellQuote(arg: string): string {
  return arg !== '' && SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
const q = (args: string[]) => args.map(shellQuote).join(' ');

export function stepCommand(s: Step): string {
  switch (s.tool) {
    case 'ip':
      return s.ns ? `ip ${s.family === 6 ? '-6 ' : ''}-n ${s.ns} ${q(s.args)}` : `ip ${q(s.args)}`;
    case 'tc':
      return `tc -n ${s.ns} ${q(s.args)}`;
    case 'sysctl':
      return `ip netns exec ${s.ns} sysctl -q -w ${q(s.args)}`;
    case 'nft': {
      // a here-document ends at a line equal to its delimiter: pick one the ruleset does not contain
      const text = s.input?.trimEnd() ?? '';
      const lines = new Set(text.split('\n'));
      let end = 'EOF';
      while (lines.has(end)) end += '_';
      return `ip netns exec ${s.ns} nft ${q(s.args)} <<'${end}'\n${text}\n${end}`;
    }
    case 'service': {
      const who = `service ${s.service} of node ${s.node}`;
      if (s.action === 'stop') return `# ${who}: stop (SIGTERM to its pid, SIGKILL after 2 s)`;
      if (s.action === 'signal') return `# ${who}: kill -${s.signal!.slice(3)} its pid`;
      const r = s.run ?? {};
      const env = Object.entries(r.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `);
      // the user name is checked (resolve.ts): inert in a shell
      const user = r.user ? `setpriv --reuid=$(id -u ${r.user}) --regid=$(id -g ${r.user}) --init-groups ` : '';
      const line = `${env.join('')}ip netns exec ${s.ns} ${user}${q(s.args)} >${s.node}-${s.service}.log 2>&1 &`;
      const start = r.cwd ? `(cd ${shellQuote(r.cwd)} && ${line})` : line;
      return s.action === 'restart' ? `# ${who}: restart (stop it, then start it as declared)\n${start}` : start;
    }
  }
}

function comment(text: string): string {
  return `# ${oneLine(text)}`;
}

export function renderScript(plan: Plan): string {
  const out = [
    '#!/bin/sh',
    // lab content in a comment stays on its line (a newline in a name would start a command)
    comment(
      `nslab plan for lab '${plan.lab}' (${plan.file})${plan.stages.length ? `, stages: ${plan.stages.join(', ')}` : ''}`,
    ),
    '# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.',
    'set -e',
  ];
  let section = '';
  const names = plan.tableNames ?? [];
  let named = !names.length;
  const nameSection = () => {
    out.push(
      '',
      comment(
        "table names inside nodes: ip netns exec NS shows /etc/netns/NS/iproute2 as /etc/iproute2 (nslab also copies the host's other files of /etc/iproute2 there)",
      ),
    );
    for (const t of names)
      out.push(
        `mkdir -p /etc/netns/${t.ns}/iproute2`,
        `cat >/etc/netns/${t.ns}/iproute2/rt_tables <<'EOF'\n${t.text.trimEnd()}\nEOF`,
      );
    named = true;
  };
  for (const s of plan.steps) {
    if (!named && s.phase !== 'create') nameSection(); // after the namespaces, before their configuration
    const title =
      s.phase === 'create' ? 'namespaces and links' : s.phase === 'services' ? 'services' : `node ${s.node}`;
    if (title !== section) {
      out.push('', comment(title));
      section = title;
    }
    out.push(stepCommand(s));
  }
  if (!named) nameSection();
  out.push(
    '',
    comment(
      `tear down: ${[...plan.namespaces.map((n) => `ip netns del ${n.ns}`), ...names.map((t) => `rm -r /etc/netns/${t.ns}`)].join('; ')}`,
    ),
    '',
  );
  return out.join('\n');
}

export function renderJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}
