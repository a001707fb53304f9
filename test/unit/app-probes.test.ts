// Application probes (issue 20): send payloads with escapes, the regexes answers are judged by, how a received
// answer is shown, http URLs, and the schema refusing what would be judged by nothing or cannot be sent.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asText, httpTarget, payloadBytes, regexProblem, shownReceived } from '../../src/lab/payload.js';
import { Expect, JUDGES, Probes, unjudged } from '../../src/lab/schema.js';
import { regexCheck, responseCheck, samePayload, talkOf } from '../../src/probes/response.js';

describe('send payloads', () => {
  it('turns escapes into bytes, text into UTF-8', () => {
    expect(payloadBytes('PING\\r\\n')).toEqual(Buffer.from('PING\r\n'));
    expect(payloadBytes('a\\tb\\0\\\\')).toEqual(Buffer.from([0x61, 0x09, 0x62, 0x00, 0x5c]));
    expect(payloadBytes('\\x00\\xffA\\x41')).toEqual(Buffer.from([0x00, 0xff, 0x41, 0x41]));
    expect(payloadBytes('é')).toEqual(Buffer.from([0xc3, 0xa9]));
    // YAML's own escapes came first: a real newline is a newline
    expect(payloadBytes('a\nb')).toEqual(Buffer.from('a\nb'));
  });
  it('refuses an unknown escape, a short \\x and a lone backslash, saying which', () => {
    expect(() => payloadBytes('x\\q')).toThrow(/unknown escape \\q/);
    expect(() => payloadBytes('x\\x4')).toThrow(/\\x4, which needs two hex digits/);
    expect(() => payloadBytes('x\\xg0')).toThrow(/two hex digits/);
    expect(() => payloadBytes('x\\')).toThrow(/lone backslash/);
    expect(() => payloadBytes('x\\\\')).not.toThrow();
  });
});

describe('answers as judged and shown', () => {
  it('reads a tcp or udp answer one character per byte, so \\xNN in a regex matches the byte', () => {
    const text = asText(Buffer.from([0x68, 0x00, 0xff]));
    expect(/^h\x00\xff$/.test(text)).toBe(true);
    expect(/^h\x00\xfe$/.test(text)).toBe(false);
  });
  it('shows what was received printable and quoted, cut after 200 characters with the length said', () => {
    expect(shownReceived('PONG\r\n\t"\\')).toBe('"PONG\\r\\n\\t\\"\\\\"');
    expect(shownReceived('\x00\x1b\xff')).toBe('"\\x00\\x1b\\xff"');
    const long = shownReceived('a'.repeat(300));
    expect(long).toBe(`"${'a'.repeat(200)}"… (300 characters, first 200 shown)`);
    expect(shownReceived('a'.repeat(200))).toBe(`"${'a'.repeat(200)}"`);
  });
  it('a regex check passes on a match, fails on a mismatch with what came, fails when nothing came', () => {
    expect(regexCheck('response', '^PONG', 'PONG s\r\n', 'x')).toMatchObject({ ok: true, expected: '/^PONG/' });
    expect(regexCheck('response', '^PANG', 'PONG s\r\n', 'x')).toMatchObject({
      ok: false,
      observed: '"PONG s\\r\\n"',
    });
    expect(regexCheck('response', '.*', undefined, 'nothing received (timeout)')).toMatchObject({
      ok: false,
      observed: 'nothing received (timeout)',
    });
  });
  it('a response is judged only on an exchange that read: a probe that did not talk has nothing to judge', () => {
    const received = Buffer.from('nslab probe x').toString('base64');
    expect(responseCheck({ response: '.' }, { outcome: 'answered', received }, true)[0]!.ok).toBe(true);
    const [c] = responseCheck({ response: '.' }, { outcome: 'answered', received }, false);
    expect(c!.ok).toBe(false);
    expect(c!.observed).toMatch(/did not read/);
    expect(responseCheck({}, { outcome: 'answered', received }, true)).toEqual([]);
  });
  it("knows a udp test's datagrams by their whole payload, or all the capture kept of a long one", () => {
    const ping = samePayload(Buffer.from('PING'));
    expect(ping({ payload: Buffer.from('PING') })).toBe(true);
    expect(ping({ payload: Buffer.from('PING ') })).toBe(false);
    expect(ping({ payload: Buffer.from(' PING') })).toBe(false);
    expect(ping({ payload: Buffer.from('PIN') })).toBe(false);
    expect(ping({ payload: Buffer.alloc(0) })).toBe(false);
    const long = Buffer.alloc(500, 'x');
    expect(samePayload(long)({ payload: long.subarray(0, 190) })).toBe(true);
    expect(samePayload(long)({ payload: long.subarray(0, 10) })).toBe(false);
    expect(samePayload(long)({ payload: Buffer.concat([long.subarray(0, 189), Buffer.from('y')]) })).toBe(false);
  });
  it('talks when the test sends or expects a response, and only then', () => {
    expect(talkOf({}, {})).toBeUndefined();
    expect(talkOf({}, { reachable: true })).toBeUndefined();
    expect(talkOf({}, { response: '^a' })).toEqual({ match: '^a' });
    expect(talkOf({ send: 'a\\n' }, {})).toEqual({ send: Buffer.from('a\n') });
  });
});

describe('http URLs', () => {
  it('takes host, port and path apart; a node or an address, IPv6 in brackets', () => {
    expect(httpTarget('http://server/')).toEqual({ host: 'server', port: 80, path: '/' });
    expect(httpTarget('http://server')).toEqual({ host: 'server', port: 80, path: '/' });
    expect(httpTarget('http://10.0.0.2:8080/a/b?c=d')).toEqual({ host: '10.0.0.2', port: 8080, path: '/a/b?c=d' });
    expect(httpTarget('http://[2001:db8::2]:81/x')).toEqual({ host: '2001:db8::2', port: 81, path: '/x' });
    expect(httpTarget('http://s?q=1')).toEqual({ host: 's', port: 80, path: '/?q=1' });
  });
  it('refuses https, a user part, a port out of range, a space', () => {
    for (const u of ['https://s/', 'http://u@s/', 'http://s:0/', 'http://s:65536/', 'http://s/a b', 'http://'])
      expect(httpTarget(u), u).toBeUndefined();
  });
});

describe('the schema', () => {
  it('takes send on tcp and udp, refuses it on ping (unknown key) and a bad escape', () => {
    expect(Probes.tcp.safeParse({ from: 'a', to: 'b', send: 'PING\\r\\n' }).success).toBe(true);
    expect(Probes.udp.safeParse({ from: 'a', to: 'b', send: 'x\\q' }).success).toBe(false);
    expect(Probes.tcp.safeParse({ from: 'a', to: 'b', send: '' }).success).toBe(false);
    expect(Probes.ping.safeParse({ from: 'a', to: 'b', send: 'x' }).success).toBe(false);
  });
  it('refuses a bad regex in response, body and header; a status out of 100-599', () => {
    expect(regexProblem('^OK')).toBeUndefined();
    expect(regexProblem('^PONG (')).toBe('Unterminated group');
    expect(Expect.safeParse({ response: '^PONG (' }).success).toBe(false);
    expect(Expect.safeParse({ body: '[a-' }).success).toBe(false);
    expect(Expect.safeParse({ header: { 'x-a': '*' } }).success).toBe(false);
    expect(Expect.safeParse({ header: { 'a b': 'x' } }).success).toBe(false);
    expect(Expect.safeParse({ status: 200, body: 'x', header: { 'Content-Type': '^text/' } }).success).toBe(true);
    for (const status of [99, 600, 200.5]) expect(Expect.safeParse({ status }).success, String(status)).toBe(false);
    for (const status of [100, 599]) expect(Expect.safeParse({ status }).success, String(status)).toBe(true);
  });
  it('http takes a URL, method, headers and body; the URL is http:// only', () => {
    const ok = { from: 'a', url: 'http://b:8080/x', method: 'POST', headers: { 'X-A': '1' }, body: 'b' };
    expect(Probes.http.safeParse(ok).success).toBe(true);
    expect(Probes.http.safeParse({ ...ok, url: 'https://b/' }).success).toBe(false);
    expect(Probes.http.safeParse({ ...ok, method: 'get' }).success).toBe(false);
    expect(Probes.http.safeParse({ ...ok, headers: { 'X-A': 'a\r\nX-B: 1' } }).success).toBe(false);
  });
  it('judges response on tcp and udp, status/body/header on http with the path checks; nowhere else', () => {
    expect(JUDGES.tcp).toContain('response');
    expect(JUDGES.udp).toContain('response');
    expect(JUDGES.http).toEqual(expect.arrayContaining(['status', 'body', 'header', 'reply-via', 'source', 'path']));
    expect(unjudged('ping', { response: 'x' })).toEqual(['response']);
    expect(unjudged('tcp', { status: 200, body: 'x' })).toEqual(['status', 'body']);
    expect(unjudged('exec', { header: {} })).toEqual(['header']);
  });
});

describe('the docs teach what the suite runs', () => {
  // every line of the docs' application probe examples is a line of the fixture the integration test runs
  const fixture = readFileSync('test/fixtures/labs/app-probes.yaml', 'utf8').split('\n');
  for (const doc of ['docs/lab-format.md', 'docs/tests.md'])
    it(doc, () => {
      const blocks = [
        ...readFileSync(doc, 'utf8').matchAll(
          /<!-- from test\/fixtures\/labs\/app-probes.yaml -->\n\n?```yaml\n([\s\S]*?)```/g,
        ),
      ].map((m) => m[1]!);
      expect(blocks.length).toBeGreaterThan(0);
      for (const line of blocks
        .join('')
        .split('\n')
        .filter((l) => l.trim()))
        expect(
          fixture.some((f) => f.trim() === line.trim()),
          line,
        ).toBe(true);
    });
});
