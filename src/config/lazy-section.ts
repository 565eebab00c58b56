import { z } from 'zod';
import { expectedPhrase } from './zod-issues.ts';
import { builtOnUse } from './zod-on-use.ts';

/** A settings section whose schema is built the first time a config has the section. */
export interface LazySection<T extends z.ZodType> {
  /** The section as a key of the settings' schema. */
  readonly schema: z.ZodType<z.output<T>>;
  /** The section's full schema (built once, on first use). */
  readonly build: () => T;
  /** What the full schema gives for a config without the section: its defaults. */
  readonly absent: () => z.output<T>;
}

/**
 * A section of the settings (`alerts`, `webhooks`, `services`) whose zod
 * schema is built only when a config has it. Building a schema is most of
 * what validating a small config costs (zod constructs every node, checks
 * included, up front: ~10 ms for these sections on this machine's Node 20),
 * and most configs leave these sections out; `autoloop status` and every
 * start pay for it before doing anything else.
 *
 * Without the section, the value is `absent()`: the defaults the full schema
 * would give, written beside it (lazy-section.test.ts checks each one against
 * `build().parse(undefined)`, so the two cannot drift). With it, the full
 * schema validates it in a parse of its own, with the same per-parse messages
 * as the settings' schema (zod-issues.ts); its issues are reported at their
 * paths under the section's key.
 */
export function lazySection<T extends z.ZodType>(build: () => T, absent: () => z.output<T>): LazySection<T> {
  const full = builtOnUse(build);
  const schema = z
    .unknown()
    .optional()
    .transform((value, ctx): z.output<T> => {
      if (value === undefined) return absent();
      const result = full().safeParse(value, { error: expectedPhrase });
      if (result.success) return result.data;
      for (const issue of result.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    });
  return { schema, build: full, absent };
}
