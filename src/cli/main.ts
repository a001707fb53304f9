#!/usr/bin/env node
// argv -> verb. Each verb lives in its own module, loaded only when used, so
// that `nslab --version` and `nslab validate` start fast.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { EXIT } from '../errors.js';
import { quietOnEpipe, reportError } from './report-error.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// literal import() paths, so the build can bundle and split each verb
// any: each verb's own options type; commander passes them as parsed
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Verb = { run: (...a: any[]) => Promise<number | void> };
const lazy =
  (load: () => Promise<Verb>) =>
  async (...args: unknown[]) => {
    const code = await (await load()).run(...args);
    process.exitCode = code ?? 0;
  };

export function buildProgram(): Command {
  const program = new Command('nslab')
    .description(
      'Network labs from Linux namespaces and veth pairs: policy routing, traffic, and proof from packet captures.',
    )
    .version(pkg.version, '-V, --version')
    .addHelpText(
      'after',
      `
Exit status: 0 all passed; 1 a test failed; 2 usage or lab-file error; 3 the
environment cannot run it (not root, a tool missing); 130/143 interrupted.
Without root, 'nslab test' runs rootless in a user namespace, and 'nslab up' leaves
a lab up in a holder process of its own, private to you (docs/rootless.md).
Docs: docs/README.md. Lab file schema: schema/nslab-lab.schema.json.`,
    )
    .showHelpAfterError('(nslab --help lists the verbs)')
    .exitOverride();

  program
    .command('validate')
    .argument('<lab...>', 'lab files or directories')
    .description('parse and check lab files (no root needed)')
    .action(lazy(() => import('./validate.js')));
  program
    .command('plan')
    .argument('<lab>')
    .description('print the commands `up` would run, as a shell script')
    .option('--stage <name>', 'include the apply of the stages up to this one')
    .option('--json', 'print the plan as JSON')
    .option('--instance <id>', 'plan for a concurrent copy with this id')
    .action(lazy(() => import('./plan.js')));
  program
    .command('graph')
    .argument('<lab>')
    .description('draw the topology as SVG, DOT or Mermaid (no root needed, nothing brought up)')
    .option('--stage <name>', 'the topology after the stages up to this one, its own changes marked')
    .addOption(
      new Option('--format <format>', "output format (default: from -o's extension, else svg)").choices([
        'svg',
        'dot',
        'mermaid',
      ]),
    )
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--results <report.json>', "draw a test's observed paths, from a JSON report")
    .option('--test <regex>', "the test whose paths to draw: its 'stage › test' name (default: the first failure)")
    .action(lazy(() => import('./graph.js')));
  program
    .command('up')
    .argument('<lab>')
    .description('create the lab and leave it running')
    .option('--stage <name>', 'also apply the stages up to this one')
    .option('--instance <id>', 'a concurrent copy: namespaces nslab-<lab>.<id>.<node>')
    .action(lazy(() => import('./up.js')));
  program
    .command('down')
    .argument('[lab]', 'lab file, lab name or instance name')
    .description('remove a running lab')
    .option('--all', 'remove the labs left up, and those whose owner is gone (never one a live run is using)')
    .option(
      '--instance <pattern>',
      "remove every lab left up whose instance id or name matches ('ws*'); as root, other users' too",
    )
    .option('--user <name>', "as root, that user's lab (rootless): the trainer's, docs/workshop.md")
    .action(lazy(() => import('./down.js')));
  program
    .command('ls')
    .description('list running labs: nodes, owner process, age, service logs')
    .option('--json', 'print as JSON')
    .option('--all-users', "as root, also every user's labs (rootless ones included), with their user")
    .action(lazy(() => import('./ls.js')));
  program
    .command('exec')
    .argument('<lab>')
    .argument('<node>')
    .argument('<command...>')
    .description('run a command inside a node (nslab exec LAB NODE -- CMD...)')
    .action(lazy(() => import('./exec.js')));
  program
    .command('shell')
    .argument('<lab>')
    .argument('<node>')
    .description('interactive shell inside a node')
    .action(lazy(() => import('./shell.js')));
  program
    .command('test')
    .argument('<lab...>', 'lab files or directories')
    .description("bring labs up, run every stage's tests, take them down")
    .option('--stage <name>', 'apply the stages up to this one and run only its tests')
    .option('--grep <regex>', "only tests whose 'stage › test' name matches")
    .option('--jobs <n>', 'labs run in parallel, each an isolated instance', '1')
    .option('--keep', 'leave a lab up after a failure, for inspection')
    .option(
      '--artifacts <dir>',
      'keep pcaps of failures, logs of services that died or failed to start, report.json, junit.xml and report.html here',
    )
    .addOption(
      new Option('--reporter <name>', 'output format')
        .choices(['console', 'json', 'junit', 'tap', 'html'])
        .default('console'),
    )
    .option('--html <dir>', 'also write the HTML report (topology, paths drawn, why, pcap links) to DIR/report.html')
    .option(
      '--shard <i/n>',
      'run only the i-th of n shares of the labs (one per CI job; together they run every lab once)',
    )
    .option(
      '--durations <path>',
      'balance shards by the lab durations of earlier JSON reports (file, or directory searched for report.json; repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(lazy(() => import('./test.js')));
  program
    .command('check')
    .argument('[lab]', 'running lab: file, lab name or instance')
    .description("run a stage's tests against a lab that is already up, applying nothing (workshops: hints, a score)")
    .option(
      '--stage <name>',
      'the stage whose tests to run (default: the solution stage of an exercise, else the last applied, else the first)',
    )
    .option(
      '--instance <pattern>',
      "grade every lab left up whose instance id or name matches ('ws*'; as root, every user's, with a user column); with LAB, only that lab's, graded with LAB's tests if it is a file",
    )
    .option('--artifacts <dir>', 'where to keep pcaps of failures (and report.html)')
    .addOption(
      new Option('--reporter <name>', 'output format (csv: one line per instance and test)')
        .choices(['console', 'json', 'junit', 'tap', 'html', 'csv'])
        .default('console'),
    )
    .option('--html <dir>', 'also write the HTML report to DIR/report.html')
    .option('--user <name>', "as root, only that user's labs (rootless), graded as that user: docs/workshop.md")
    .action(lazy(() => import('./check.js')));
  program
    .command('exercise')
    .argument('<lab>', 'lab file with a stage marked solution: true')
    .description("write the students' lab file: the same lab and tests, without the solution stage's apply")
    .option('-o, --output <file>', 'write it here (default: standard output)')
    .action(lazy(() => import('./exercise.js')));
  program
    .command('reset')
    .argument('[lab]', 'running lab: file, lab name or instance')
    .description('take a lab left up down and bring it up again, same instance, at a stage (undoes hand-made changes)')
    .option('--stage <name>', 'apply the stages up to this one (default: those it was up at)')
    .option(
      '--instance <pattern>',
      "reset every lab left up whose instance id or name matches ('ws*'); with LAB, only that lab's, from LAB if it is a file",
    )
    .option('--user <name>', "as root, only that user's labs (rootless), reset as that user: docs/workshop.md")
    .action(lazy(() => import('./reset.js')));
  program
    .command('explain')
    .argument('<lab>', 'running lab: file, lab name or instance')
    .description('send one probe through a live lab and say where and why its path goes wrong')
    .requiredOption('--from <node>', 'the node that sends')
    .requiredOption('--to <target>', 'an address, node or node:interface')
    .option(
      '--stage <name>',
      'the stage the lab is at: hints come from the stages after it (default: after the last applied)',
    )
    .addOption(new Option('--probe <kind>', 'what to send').choices(['ping', 'tcp', 'udp']).default('ping'))
    .option('--port <n>', "tcp/udp: a lab service's port (default: a listener nslab starts on a random port)")
    .option('--ipv6', "the target's IPv6 address")
    .option('--json', 'print the traces and the why as JSON')
    .action(lazy(() => import('./explain.js')));
  program
    .command('export')
    .argument('<lab>')
    .description(
      "a node's final addresses, routes, tables and rules as a distribution's boot configuration, exactly: a " +
        'format that cannot express one of its routes, rules or settings refuses (exit 2, naming each construct and ' +
        'the formats that can), writing nothing',
    )
    .requiredOption('--node <name>', 'the node to export')
    .option('--stage <name>', 'include the apply of the stages up to this one (the fix)')
    .addOption(
      new Option('--format <name>', 'configuration format')
        .choices(['rhel', 'nm', 'networkd', 'netplan', 'ifupdown', 'ip'])
        .default('ip'),
    )
    .option('-o, --output <dir>', 'write the files under this directory, as under / (default: print them)')
    .option(
      '--allow-partial',
      'when the format cannot express everything, write the rest: each left-out line named on stderr and marked in the files',
    )
    .action(lazy(() => import('./export.js')));
  program
    .command('snapshot')
    .argument('[node]', 'with --node LAB: the node to read')
    .description(
      "write this machine's interfaces, addresses, routes of every table, rules and sysctls (ip -j) as JSON, with the kernel's own ip route get answers for tuples of them; no root needed",
    )
    .option('--node <lab>', 'read a node of this running lab instead (nslab snapshot --node LAB NODE)')
    .option('-o, --output <file>', 'write to this file (default: print)')
    .action(lazy(() => import('./snapshot.js')));
  program
    .command('import')
    .argument('<snapshot>', 'a file from nslab snapshot, or a sos report (its tarball or unpacked folder)')
    .description(
      'turn a snapshot (or a sos report) into a lab: the machine, a router per subnet, a client beyond each, tests that replies leave where requests came in and that the lab decides as the machine did (a snapshot only)',
    )
    .option('-o, --output <file>', 'write the lab file here (default: print)')
    .option('--netns <name>', "a sos report's network namespace to import (default: the host's own)")
    .action(lazy(() => import('./import.js')));
  program
    .command('run')
    .argument('<command...>')
    .description(
      "run a command (a test suite using nslab's API) where it can bring labs up: without root, in a holder of its own that ends with it (nslab run -- npx vitest run)",
    )
    .action(lazy(() => import('./run.js')));
  program
    .command('cleanup')
    .argument('[instance...]', "only instances matching these names ('*' matches anything)")
    .description(
      'remove what crashed or killed runs left behind (never a lab left up on purpose, never what no record proves dead)',
    )
    .action(lazy(() => import('./cleanup.js')));
  program
    .command('doctor')
    .description(
      'what this machine can do (root or rootless, tools, kernel modules) and what is in the way (container pitfalls), with fixes',
    )
    .option('--json', 'print as JSON')
    .action(lazy(() => import('./doctor.js')));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT.usage;
    return reportError(e);
  }
}

/** Runs the CLI on this process's arguments (the bundled executable's entry.ts calls it). */
export function cli(): void {
  quietOnEpipe(process.stdout);
  quietOnEpipe(process.stderr);
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) cli();
