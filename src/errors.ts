// Error classes carry the context a user needs to act: where in the lab file,
// which node and command, and the exit status the CLI should end with.

/** Exit statuses, as documented in PRODUCT.md and `nslab --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, environment: 3, sigint: 130, sigterm: 143 } as const;

export class NslabError extends Error {
  readonly exitCode: number = EXIT.failed;
}

/** One problem in a lab file, pointing at the exact place. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
  hint?: string;
}

/** Control characters escaped, so that lab content echoed in a message can never start a line of its own. */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function formatProblem(p: Problem): string {
  const head = `${oneLine(p.file)}:${p.line}:${p.col}: ${oneLine(p.message)}`;
  return p.hint ? `${head}\n    hint: ${oneLine(p.hint)}` : head;
}

/** Every problem found in a lab file, all at once; nothing was created. */
export class LabFileError extends NslabError {
  override readonly exitCode = EXIT.usage;
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'LabFileError';
  }
}

/**
 * One problem in a JSON file the user gave (a snapshot), at its JSON path: `routes.4[2].dst`; [] is the file itself.
 */
export interface JsonProblem {
  path: (string | number)[];
  message: string;
  hint?: string;
}

/** A JSON path as a reader writes it: `addresses[2].addr_info`, `sysctl["net.ipv4.ip_forward"]`. */
export function jsonPath(path: (string | number)[]): string {
  const step = (k: string | number, i: number) =>
    typeof k === 'number' ? `[${k}]` : /^[A-Za-z0-9_-]+$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`;
  return oneLine(path.map(step).join(''));
}

/** Lines shown at most: a file wrong in every item still gives a screenful, and the count of the rest. */
const MAX_SHOWN = 50;

/**
 * Every problem found in a JSON file the user gave, all at once, one line each (`FILE: PATH: what`); nothing was made.
 */
export class JsonFileError extends NslabError {
  override readonly exitCode = EXIT.usage;
  constructor(
    readonly file: string,
    readonly problems: JsonProblem[],
    readonly hint?: string,
  ) {
    const line = (p: JsonProblem) => {
      const head = `${oneLine(file)}: ${p.path.length ? `${jsonPath(p.path)}: ` : ''}${oneLine(p.message)}`;
      return p.hint ? `${head}\n    hint: ${oneLine(p.hint)}` : head;
    };
    const rest = problems.length - MAX_SHOWN;
    super(
      [
        ...problems.slice(0, MAX_SHOWN).map(line),
        ...(rest > 0 ? [`${oneLine(file)}: and ${rest} more problem${rest === 1 ? '' : 's'} like these`] : []),
        ...(hint ? [`    hint: ${oneLine(hint)}`] : []),
      ].join('\n'),
    );
    this.name = 'JsonFileError';
  }
}

/** Wrong command-line use, or a request that contradicts the current state. */
export class UsageError extends NslabError {
  override readonly exitCode = EXIT.usage;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n    hint: ${hint}` : message);
    this.name = 'UsageError';
  }
}

/** The machine cannot run this: not root, a tool or kernel feature missing. */
export class EnvironmentError extends NslabError {
  override readonly exitCode = EXIT.environment;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n    hint: ${hint}` : message);
    this.name = 'EnvironmentError';
  }
}

/** A command that nslab ran failed; knows where and what it said. */
export class CommandError extends NslabError {
  constructor(
    readonly argv: string[],
    readonly exitCode_: number,
    readonly stderr: string,
    readonly node?: string,
    readonly detail?: string,
  ) {
    const where = node ? ` in node '${node}'` : '';
    super(`command failed${where} (exit ${exitCode_}): ${argv.join(' ')}\n${detail ?? stderr.trim()}`);
    this.name = 'CommandError';
  }
}

/**
 * Services of the lab that exited as they started. The message says how each
 * ended and how its log ends, and where the whole log is kept (a copy, with
 * the run's artifacts: the lab's own log directory goes with the lab).
 */
export class ServiceError extends CommandError {
  constructor(
    argv: string[],
    exitCode: number,
    node: string,
    readonly service: string,
    message: string,
  ) {
    super(argv, exitCode, '', node);
    this.message = message;
    this.name = 'ServiceError';
  }
}

/** The run was interrupted by a signal; the exit status follows the shell convention. */
export class InterruptedError extends NslabError {
  override readonly exitCode: number;
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
    this.exitCode = signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  }
}
