// The failure of a service that exits at once: how it ended, how its log ends
// (bounded, one line per line), and a copy of the log kept safely.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeExit, keepLog, logTail, serviceError, TAIL_LINES } from '../../src/engine/service-logs.js';
import { CommandError } from '../../src/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'nslab-svclog-'));

function log(text: string | Buffer): string {
  const f = join(dir(), 'a-web.log');
  writeFileSync(f, text);
  return f;
}

describe('how a service ended', () => {
  it('an exit status, or the signal that ended it', () => {
    expect(describeExit({ code: 1, signal: null })).toBe('exit status 1');
    expect(describeExit({ code: 0, signal: null })).toBe('exit status 0');
    expect(describeExit({ code: null, signal: 'SIGSEGV' })).toBe('killed by SIGSEGV');
  });
});

describe('the end of a log', () => {
  it('the last lines, without the empty line after the last newline', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    expect(logTail(log(lines.join('\n') + '\n'))).toEqual(lines.slice(-TAIL_LINES));
    expect(logTail(log('only one, no newline'))).toEqual(['only one, no newline']);
    expect(logTail(log(''))).toEqual([]);
  });

  it('control characters escaped (a log cannot color, rewrite or add lines of the message); a CRLF line ending dropped', () => {
    expect(logTail(log('\u001b[31mred\u001b[0m\rback\u2028x\r\n'))).toEqual([
      String.raw`\u001b[31mred\u001b[0m\u000dback\u2028x`,
    ]);
    // the twin: plain text is shown as it is
    expect(logTail(log('web: reading /etc/web.conf\n'))).toEqual(['web: reading /etc/web.conf']);
  });

  it('bounded: a long line is cut, and only the end of a huge log is read (its first, partial line dropped)', () => {
    expect(logTail(log(`${'x'.repeat(300)}\n`))).toEqual([`${'x'.repeat(200)}…`]);
    // one line longer than what is read: its end
    expect(logTail(log(`${'x'.repeat(100_000)}the end\n`))).toEqual([`…${'x'.repeat(193)}the end`]);
    const big = log(`${'y'.repeat(5_000_000)}\nlast but one\nlast\n`);
    expect(logTail(big)).toEqual(['last but one', 'last']);
  });
});

describe('keeping a log', () => {
  it('a copy, 0600, in a folder made 0700; a name taken gets the next number; a link planted there is not followed', () => {
    const src = log('web: reading /etc/web.conf\n');
    const root = join(dir(), 'artifacts');
    const into = join(root, 'lab.x1');
    const first = keepLog(src, { root, folder: 'lab.x1' }, 'a-web');
    expect(first).toBe(join(into, 'a-web.log'));
    expect(readFileSync(first, 'utf8')).toBe('web: reading /etc/web.conf\n');
    expect(statSync(first).mode & 0o777).toBe(0o600);
    expect(statSync(into).mode & 0o777).toBe(0o700);
    // a second failure of the same service (a stage applied again) keeps the first copy
    expect(keepLog(src, { root, folder: 'lab.x1' }, 'a-web')).toBe(join(into, 'a-web.2.log'));
    // a link planted at the next name: written beside it, its target untouched
    const target = join(dir(), 'victim');
    writeFileSync(target, 'precious');
    symlinkSync(target, join(into, 'a-web.3.log'));
    expect(keepLog(src, { root, folder: 'lab.x1' }, 'a-web')).toBe(join(into, 'a-web.4.log'));
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(lstatSync(join(into, 'a-web.3.log')).isSymbolicLink() && readlinkSync(join(into, 'a-web.3.log'))).toBe(
      target,
    );
  });

  it('a link at the instance folder is refused (nothing lands where it points); an artifacts folder that is a link is honoured', () => {
    const src = log('web: reading /etc/web.conf\n');
    const root = join(dir(), 'artifacts');
    const elsewhere = join(dir(), 'elsewhere');
    mkdirSync(root);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(root, 'lab.x1'));
    expect(() => keepLog(src, { root, folder: 'lab.x1' }, 'a-web')).toThrow(
      `${join(root, 'lab.x1')} is a symbolic link (to ${elsewhere})`,
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    const base = dir();
    const real = join(base, 'real');
    const linked = join(base, 'linked');
    mkdirSync(real);
    symlinkSync(real, linked);
    expect(keepLog(src, { root: linked, folder: 'lab.x1' }, 'a-web')).toBe(join(linked, 'lab.x1/a-web.log'));
    expect(readFileSync(join(real, 'lab.x1/a-web.log'), 'utf8')).toBe('web: reading /etc/web.conf\n');
  });

  it('the end of a huge log only, saying how much was left out', () => {
    const src = log(`${'z'.repeat(3 << 20)}\nthe cause\n`);
    const kept = readFileSync(keepLog(src, { root: dir(), folder: 'k' }, 'a-web'), 'utf8');
    expect(kept).toMatch(/^\[nslab: the first \d+ bytes of this log are left out\]\n/);
    expect(kept.endsWith('\nthe cause\n')).toBe(true);
    expect(kept.length).toBeLessThan((1 << 20) + 100);
  });
});

describe('the failure', () => {
  const failed = (logFile: string, exit = { code: 1 as number | null, signal: null as NodeJS.Signals | null }) => [
    { node: 'a', service: 'web', argv: ['sh', '-c', 'cat /etc/web.conf'], exit, log: logFile },
  ];

  it('names the service, how it ended, how its log ends and where the copy is, which exists', () => {
    const root = dir();
    const keep = join(root, 'artifacts');
    const e = serviceError(
      failed(log('web: reading /etc/web.conf\ncat: /etc/web.conf: No such file or directory\n')),
      () => ({ root, folder: 'artifacts' }),
    );
    expect(e).toBeInstanceOf(CommandError);
    expect(e.node).toBe('a');
    expect(e.message).toBe(
      [
        "service 'web' of node 'a' exited at once (exit status 1): sh -c cat /etc/web.conf",
        '    its log ends with:',
        '      web: reading /etc/web.conf',
        '      cat: /etc/web.conf: No such file or directory',
        `    its log is kept in ${join(keep, 'a-web.log')}`,
      ].join('\n'),
    );
    expect(existsSync(join(keep, 'a-web.log'))).toBe(true);
  });

  it('without a place for artifacts, no path at all; an empty log said so; status 0 hints at a daemon that forked', () => {
    const e = serviceError(failed(log(''), { code: 0, signal: null }), undefined);
    expect(e.message).toBe(
      [
        "service 'web' of node 'a' exited at once (exit status 0): sh -c cat /etc/web.conf",
        '    its log is empty',
        '    hint: a service must keep running in the foreground (a daemon has an option not to fork, often -f or -D)',
      ].join('\n'),
    );
  });

  it('a signal: its number as the status (128 + n, as shells report it); a copy that cannot be made is said, not pointed at', () => {
    const e = serviceError(failed(log('boom\n'), { code: null, signal: 'SIGSEGV' }), () => {
      throw new Error("EACCES: permission denied, mkdir '/x'");
    });
    expect(e.exitCode_).toBe(139);
    expect(e.message).toMatch(/^service 'web' of node 'a' exited at once \(killed by SIGSEGV\)/);
    expect(e.message).toMatch(/\n {4}its log could not be kept: EACCES: permission denied, mkdir '\/x'$/);
    expect(e.message).not.toMatch(/kept in/);
  });

  it('an argv with control characters stays on its line', () => {
    const e = serviceError([{ ...failed(log('x\n'))[0]!, argv: ['sh', '-c', 'echo a\nrm -rf /'] }], undefined);
    expect(e.message.split('\n')[0]).toBe(
      String.raw`service 'web' of node 'a' exited at once (exit status 1): sh -c echo a\nrm -rf /`,
    );
  });
});
