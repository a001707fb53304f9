// Application payloads: what a tcp or udp test sends (`send`, with escapes), the
// regular expressions its answer is judged by (`expect: { response, body, header }`),
// and how a received answer is shown in a failure. Pure: the schema checks a lab's
// payloads and regexes with these, the probes use them.

/**
 * The escapes `send` understands, applied to the string as the lab file gives it (YAML's own escapes, in a
 * double-quoted string, come first).
 */
const SIMPLE: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, '0': 0x00, '\\': 0x5c };

/**
 * The bytes of a `send` payload: text as UTF-8, `\n \r \t \0 \\` as those characters, `\xNN` as the byte NN.
 * Throws with what is wrong (an unknown escape, a \x without two hex digits, a backslash at the end).
 */
export function payloadBytes(send: string): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  const flush = () => {
    if (text) parts.push(Buffer.from(text, 'utf8'));
    text = '';
  };
  for (let i = 0; i < send.length; i++) {
    const c = send[i]!;
    if (c !== '\\') {
      text += c;
      continue;
    }
    const e = send[i + 1];
    if (e === undefined) throw new Error('ends with a lone backslash (write \\\\ for a backslash)');
    if (e in SIMPLE) {
      flush();
      parts.push(Buffer.from([SIMPLE[e]!]));
      i++;
    } else if (e === 'x') {
      const hex = send.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`has \\x${hex}, which needs two hex digits (e.g. \\x0a)`);
      flush();
      parts.push(Buffer.from([parseInt(hex, 16)]));
      i += 3;
    } else throw new Error(`has an unknown escape \\${e} (known: \\n \\r \\t \\0 \\\\ \\xNN)`);
  }
  flush();
  return Buffer.concat(parts);
}

/** The regex of a `response`, `body` or `header` expectation: the string is its source, unanchored, no flags. */
export function responseRegex(source: string): RegExp {
  return new RegExp(source);
}

/** Why a string is no regular expression (undefined when it is one). */
export function regexProblem(source: string): string | undefined {
  try {
    responseRegex(source);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}

/**
 * Received bytes as tcp and udp responses are judged: one character per byte (latin1), so that `\xNN` in a regex
 * matches the byte NN, and ASCII text matches as written.
 */
export function asText(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/** At most this many characters of a received answer are shown in a failure. */
export const SHOWN_MAX = 200;

/**
 * A received answer as a failure shows it: quoted, printable (\n \r \t, other control and non-ASCII characters as
 * \xNN or \uNNNN), cut after SHOWN_MAX characters with the full length said.
 */
export function shownReceived(text: string, max = SHOWN_MAX): string {
  const cut = text.length > max;
  const body = [...text.slice(0, max)]
    .map((c) => {
      const n = c.codePointAt(0)!;
      if (c === '\n') return '\\n';
      if (c === '\r') return '\\r';
      if (c === '\t') return '\\t';
      if (c === '\\') return '\\\\';
      if (c === '"') return '\\"';
      if (n < 0x20 || (n >= 0x7f && n <= 0xff)) return `\\x${n.toString(16).padStart(2, '0')}`;
      if (n > 0xff && (n < 0xa0 || (n >= 0x2028 && n <= 0x2029) || n > 0xffff || n === 0xfffd))
        return `\\u{${n.toString(16)}}`;
      return c;
    })
    .join('');
  return `"${body}"${cut ? `… (${text.length} characters, first ${max} shown)` : ''}`;
}

/** An http test's URL taken apart: the host as written (a node, or an address without brackets), port, path. */
export function httpTarget(url: string): { host: string; port: number; path: string } | undefined {
  const m = /^http:\/\/(\[([0-9A-Fa-f:.]+)\]|([^\s/:?#[\]@]+))(?::(\d{1,5}))?([/?][^\s#]*)?$/.exec(url);
  if (!m) return undefined;
  const port = m[4] === undefined ? 80 : Number(m[4]);
  if (port < 1 || port > 65535) return undefined;
  const path = m[5] ?? '/';
  return { host: m[2] ?? m[3]!, port, path: path.startsWith('?') ? `/${path}` : path };
}
