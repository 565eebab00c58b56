/**
 * An LLM's answer, from text to a validated value: find the JSON object in
 * the content (servers that ignore `response_format` wrap it in prose or
 * code fences), then check it against a zod schema. Either step failing is
 * an {@link LlmOutputError} carrying what was wrong and where: the item
 * fails with it and is retried per the loop's policy (a model that answered
 * badly once often answers well the next time).
 */
import { z } from 'zod';
import { KNOWN_KEY } from '../../config/config-error.ts';
import { validate } from '../../config/zod-issues.ts';
import { AutoloopError } from '../../core/errors.ts';

/** The three actions a signal can recommend. */
export const SIGNAL_ACTIONS = ['BUY', 'SELL', 'HOLD'] as const;

/**
 * The default output of an LLM stage: an action, a confidence in [0, 1] and
 * a rationale. The action is accepted in any case (`buy` reads as `BUY`);
 * everything else is strict. Extra fields are dropped.
 */
export const LLM_SIGNAL_SCHEMA = z.object({
  action: z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(SIGNAL_ACTIONS)),
  confidence: z.number().min(0).max(1),
  rationale: z.string().min(1),
});

export type LlmSignal = z.infer<typeof LLM_SIGNAL_SCHEMA>;

/** One thing wrong with an answer: where in the object, what was expected, what was there. */
export interface OutputIssue {
  /** Dotted path into the answer's object, `''` for the object itself. */
  readonly path: string;
  readonly expected: string;
  readonly got: string;
}

/**
 * The model's answer was not one JSON object matching the stage's schema.
 * Retryable (not a TerminalError). `issues` is empty when no JSON object
 * could be read at all; `excerpt` is the start of the content.
 */
export class LlmOutputError extends AutoloopError {
  override name = 'LlmOutputError';
  constructor(
    message: string,
    readonly issues: readonly OutputIssue[],
    readonly excerpt: string,
  ) {
    super(message);
  }
}

/** What {@link extractJsonObject} found. */
export type Extracted = { readonly ok: true; readonly value: object } | { readonly ok: false; readonly reason: string };

const FENCE = /```[A-Za-z]*[ \t]*\r?\n?([\s\S]*?)```/g;
const EXCERPT_CHARS = 160;

/**
 * Finds the one JSON object in an answer: the whole content, else the first
 * code fence that holds one, else the first balanced `{...}` in the text.
 *
 * @example
 * extractJsonObject('Sure! ```json\n{"action":"BUY"}\n```'); // { ok: true, value: { action: 'BUY' } }
 * extractJsonObject('{"action":"BU');                        // { ok: false, reason: 'the JSON object is not closed ...' }
 */
export function extractJsonObject(content: string): Extracted {
  const text = content.trim();
  if (text === '') return { ok: false, reason: 'empty content' };
  const whole = tryParse(text);
  if (whole.ok) return whole;
  for (const fence of text.matchAll(FENCE)) {
    const inner = tryParse((fence[1] ?? '').trim());
    if (inner.ok) return inner;
  }
  const start = text.indexOf('{');
  if (start === -1) {
    return { ok: false, reason: whole.reason.startsWith('a JSON') ? whole.reason : 'no JSON object in the text' };
  }
  const end = balancedEnd(text, start);
  if (end === -1) return { ok: false, reason: 'the JSON object is not closed (the answer looks cut off)' };
  return tryParse(text.slice(start, end + 1));
}

/**
 * Extracts and validates an answer. `where` names the stage for messages,
 * e.g. `llm stage "score" (model m)`.
 *
 * @example
 * const signal = parseLlmOutput(content, LLM_SIGNAL_SCHEMA, 'llm stage "score"');
 */
export function parseLlmOutput<T>(content: string, schema: z.ZodType<T>, where: string): T {
  const excerpt = content.length > EXCERPT_CHARS ? `${content.slice(0, EXCERPT_CHARS)}...` : content;
  const found = extractJsonObject(content);
  if (!found.ok) {
    throw new LlmOutputError(
      `${where}: expected the answer to be one JSON object, got ${found.reason}; the answer began ${JSON.stringify(excerpt)}`,
      [],
      excerpt,
    );
  }
  const checked = validate(schema, found.value, where);
  if (checked.ok) return checked.value;
  const issues: OutputIssue[] = checked.issues.map((i) => ({ path: i.path, expected: i.expected, got: i.got }));
  throw new LlmOutputError(
    `${where}: the answer does not match the output schema: ${issues.map(formatOutputIssue).join('; ')}`,
    issues,
    excerpt,
  );
}

/** `confidence: expected a number <= 1, got 1.7` */
export function formatOutputIssue(issue: OutputIssue): string {
  const where = issue.path === '' ? '(the object)' : issue.path;
  return issue.expected === KNOWN_KEY
    ? `${where}: ${issue.got}`
    : `${where}: expected ${issue.expected}, got ${issue.got}`;
}

/**
 * The schema as compact JSON Schema, for prompts (`{{format}}`): what the
 * model must answer with. Falls back to a plain sentence for schemas JSON
 * Schema cannot express.
 */
export function describeOutputFormat(schema: z.ZodType): string {
  try {
    const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    return JSON.stringify(json);
  } catch {
    return 'one JSON object';
  }
}

function tryParse(text: string): Extracted {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `text that does not parse as JSON (${(error as Error).message})` };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ok: true, value };
  return {
    ok: false,
    reason: `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not an object`,
  };
}

/** Index of the `}` closing the object that opens at `start`, or -1; braces inside strings do not count. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}
