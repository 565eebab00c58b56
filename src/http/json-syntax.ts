/**
 * Where a JSON text first goes wrong, for a 400 that points at the problem.
 *
 * `JSON.parse` says whether a text is valid, but its messages differ between
 * Node versions, sometimes lack a position, and quote the input back (which
 * could be anything a client sent). This scanner finds the first offending
 * character itself. It is iterative, so a body of 60 000 `[` cannot overflow
 * the stack.
 */
export interface JsonSyntaxProblem {
  /** 0-based offset in the text (UTF-16 code units). */
  position: number;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** e.g. `unexpected "}"; expected a value`. */
  problem: string;
}

type State = 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'after-value';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'] as const;

class Stop {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {}
}

/**
 * The first syntax error in `text`, or undefined when it is valid JSON.
 *
 * @example
 * findJsonSyntaxError('{"a":}'); // { position: 5, line: 1, column: 6, problem: 'unexpected "}"; expected a value' }
 */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  try {
    scan(text);
    return undefined;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    const before = text.slice(0, error.at);
    const line = before.split('\n').length;
    const column = error.at - (before.lastIndexOf('\n') + 1) + 1;
    return { position: error.at, line, column, problem: error.problem };
  }
}

function scan(text: string): void {
  const stack: Array<'{' | '['> = [];
  let state: State = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
    if (i >= text.length) {
      if (state === 'after-value' && stack.length === 0) return;
      throw new Stop(i, 'unexpected end of input');
    }
    const ch = text[i] as string;
    if (state === 'after-value' && stack.length === 0) {
      throw new Stop(i, `unexpected ${show(ch)} after the end of the JSON value`);
    }
    switch (state) {
      case 'first-value':
      case 'value':
        if (state === 'first-value' && ch === ']') {
          stack.pop();
          i++;
          state = 'after-value';
        } else if (ch === '{' || ch === '[') {
          stack.push(ch);
          i++;
          state = ch === '{' ? 'first-key' : 'first-value';
        } else {
          i = scalar(text, i);
          state = 'after-value';
        }
        break;
      case 'first-key':
      case 'key':
        if (state === 'first-key' && ch === '}') {
          stack.pop();
          i++;
          state = 'after-value';
        } else if (ch === '"') {
          i = string(text, i);
          state = 'colon';
        } else {
          throw new Stop(i, `unexpected ${show(ch)}; expected a property name in double quotes`);
        }
        break;
      case 'colon':
        if (ch !== ':') throw new Stop(i, `unexpected ${show(ch)}; expected ":" after the property name`);
        i++;
        state = 'value';
        break;
      case 'after-value': {
        const close = stack.at(-1) === '{' ? '}' : ']';
        if (ch === ',') {
          i++;
          state = close === '}' ? 'key' : 'value';
        } else if (ch === close) {
          stack.pop();
          i++;
        } else {
          throw new Stop(i, `unexpected ${show(ch)}; expected "," or "${close}"`);
        }
        break;
      }
    }
  }
}

/** A string, number or literal starting at `i`; returns the index after it. */
function scalar(text: string, i: number): number {
  const ch = text[i] as string;
  if (ch === '"') return string(text, i);
  if (ch === '-' || (ch >= '0' && ch <= '9')) {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) throw new Stop(i, 'invalid number');
    return i + match[0].length;
  }
  for (const literal of LITERALS) if (text.startsWith(literal, i)) return i + literal.length;
  throw new Stop(i, `unexpected ${show(ch)}; expected a value`);
}

function string(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    if (j >= text.length) throw new Stop(j, 'unterminated string');
    const ch = text[j] as string;
    if (ch === '"') return j + 1;
    if (ch === '\\') {
      const next = text[j + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) throw new Stop(j, 'invalid \\u escape');
        j += 6;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        j += 2;
      } else {
        throw new Stop(j, 'invalid escape in string');
      }
    } else if (ch < ' ') {
      throw new Stop(j, 'control character in string (escape it)');
    } else {
      j++;
    }
  }
}

function show(ch: string): string {
  return JSON.stringify(ch);
}
