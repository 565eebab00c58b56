/**
 * HAVE from an S3 Inventory report: the cheap path for buckets with 100k+
 * objects (seed 000's), one GET per report file instead of one LIST per
 * 1,000 keys.
 *
 * The layout AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
 * under `<destination prefix>/<source bucket>/<configuration id>/`, one
 * folder per delivery named `YYYY-MM-DDTHH-MMZ/`, each with `manifest.json`:
 *
 * ```json
 * { "sourceBucket": "lake", "destinationBucket": "arn:aws:s3:::lake-inventory",
 *   "version": "2016-11-30", "creationTimestamp": "1514944800000", "fileFormat": "CSV",
 *   "fileSchema": "Bucket, Key, Size, LastModifiedDate",
 *   "files": [{ "key": "inventory/lake/daily/data/8a4b....csv.gz", "size": 2147, "MD5checksum": "..." }] }
 * ```
 *
 * The data files are gzipped CSV without a header, columns as `fileSchema`
 * names them, every value quoted, keys URL-encoded. ORC and Parquet reports
 * are not read (a clear error says so).
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { HaveIndex } from './have-index.ts';
import { type Inventory, InventoryError, type InventoryObject } from './inventory.ts';

export interface S3InventoryReportOptions {
  readonly client: S3Client;
  /** The bucket the reports are delivered to. */
  readonly bucket: string;
  /** `<destination prefix>/<source bucket>/<configuration id>/`: the folder of the dated deliveries. */
  readonly prefix: string;
  /** Only source keys under it count, reported relative to it. Default ''. */
  readonly sourcePrefix?: string;
}

/** What a manifest.json holds (the fields read here). */
export interface InventoryManifest {
  readonly sourceBucket: string;
  readonly creationTimestamp?: string;
  readonly fileFormat: string;
  readonly fileSchema: string;
  readonly files: ReadonlyArray<{ readonly key: string; readonly size?: number }>;
}

export class S3InventoryReport implements Inventory {
  readonly description: string;
  readonly #o: S3InventoryReportOptions;
  readonly #sourcePrefix: string;
  #sourceBucket: string | undefined;
  /** When the last report read was made (its manifest's creationTimestamp), epoch ms. */
  reportCreatedAt: number | undefined;

  constructor(options: S3InventoryReportOptions) {
    this.#o = { ...options, prefix: options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/` };
    this.#sourcePrefix = options.sourcePrefix ?? '';
    this.description = `s3 inventory s3://${options.bucket}/${this.#o.prefix}`;
  }

  async scan(signal: AbortSignal): Promise<HaveIndex> {
    try {
      const manifestKey = await this.#latestManifest(signal);
      const manifest = parseManifest(await this.#text(manifestKey, signal), manifestKey);
      this.#sourceBucket = manifest.sourceBucket;
      this.reportCreatedAt = manifest.creationTimestamp ? Number(manifest.creationTimestamp) : undefined;
      const columns = schemaColumns(manifest.fileSchema, manifestKey);
      const index = new HaveIndex();
      for (const file of manifest.files) {
        const body = await this.#body(file.key, signal);
        const stream = file.key.endsWith('.gz') ? body.pipe(createGunzip()) : body;
        await readInventoryCsv(stream, columns, index, this.#sourcePrefix);
      }
      return index;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof InventoryError) throw error;
      throw new InventoryError(`inventory ${this.description}: ${messageOf(error)}`, { cause: error });
    }
  }

  async stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined> {
    const bucket = this.#sourceBucket;
    if (bucket === undefined) return undefined; // no report read yet: nothing to check against
    try {
      const head = await this.#o.client.send(new HeadObjectCommand({ Bucket: bucket, Key: this.#sourcePrefix + key }), {
        abortSignal: signal,
      });
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw new InventoryError(`inventory ${this.description}: cannot stat ${key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async probe(signal: AbortSignal): Promise<void> {
    await this.#latestManifest(signal);
  }

  locate(key: string): string {
    return `s3://${this.#sourceBucket ?? '<source bucket>'}/${this.#sourcePrefix}${key}`;
  }

  /** The manifest of the newest dated delivery under the prefix. */
  async #latestManifest(signal: AbortSignal): Promise<string> {
    const dated: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#o.client.send(
        new ListObjectsV2Command({
          Bucket: this.#o.bucket,
          Prefix: this.#o.prefix,
          Delimiter: '/',
          ...(token && { ContinuationToken: token }),
        }),
        { abortSignal: signal },
      );
      for (const p of page.CommonPrefixes ?? []) {
        const folder = p.Prefix?.slice(this.#o.prefix.length) ?? '';
        if (/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z\/$/.test(folder)) dated.push(p.Prefix as string);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const latest = dated.sort().at(-1);
    if (!latest) {
      throw new InventoryError(
        `inventory ${this.description}: no delivery found (expected folders like 2024-01-31T00-00Z/ holding manifest.json)`,
      );
    }
    return `${latest}manifest.json`;
  }

  async #body(key: string, signal: AbortSignal): Promise<Readable> {
    const object = await this.#o.client.send(new GetObjectCommand({ Bucket: this.#o.bucket, Key: key }), {
      abortSignal: signal,
    });
    return object.Body as Readable;
  }

  async #text(key: string, signal: AbortSignal): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.#body(key, signal)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Reads a manifest, refusing formats other than CSV with a clear message. */
export function parseManifest(text: string, where: string): InventoryManifest {
  let manifest: Partial<InventoryManifest>;
  try {
    manifest = JSON.parse(text) as Partial<InventoryManifest>;
  } catch (error) {
    throw new InventoryError(`${where}: not JSON: ${messageOf(error)}`);
  }
  if (manifest.fileFormat !== 'CSV') {
    throw new InventoryError(
      `${where}: fileFormat ${JSON.stringify(manifest.fileFormat)} is not read; configure the inventory report as CSV`,
    );
  }
  if (typeof manifest.fileSchema !== 'string' || !Array.isArray(manifest.files) || !manifest.sourceBucket) {
    throw new InventoryError(`${where}: expected sourceBucket, fileSchema and files`);
  }
  return manifest as InventoryManifest;
}

/** Positions of the columns read, from a `fileSchema` like "Bucket, Key, Size, LastModifiedDate". */
export interface InventoryColumns {
  readonly key: number;
  readonly size: number;
  readonly modified: number;
  /** Delete markers and non-latest versions are left out when these are present. */
  readonly isLatest: number;
  readonly isDeleteMarker: number;
}

export function schemaColumns(fileSchema: string, where: string): InventoryColumns {
  const names = fileSchema.split(',').map((n) => n.trim());
  const at = (name: string) => names.indexOf(name);
  const columns = {
    key: at('Key'),
    size: at('Size'),
    modified: at('LastModifiedDate'),
    isLatest: at('IsLatest'),
    isDeleteMarker: at('IsDeleteMarker'),
  };
  if (columns.key < 0 || columns.size < 0 || columns.modified < 0) {
    throw new InventoryError(
      `${where}: fileSchema "${fileSchema}" lacks Key, Size or LastModifiedDate; add Size and LastModifiedDate to the report's fields`,
    );
  }
  return columns;
}

/**
 * Adds the rows of an inventory CSV stream to `index`: keys URL-decoded,
 * only those under `sourcePrefix` (made relative to it), delete markers
 * and non-latest versions left out.
 *
 * Rows are cut from the bytes where they lie in each chunk; a plain key
 * is copied into the index as bytes (no string made), a URL-encoded one is
 * decoded first. A row cut by a chunk's end is joined with the next one.
 */
export async function readInventoryCsv(
  stream: AsyncIterable<Buffer | string>,
  columns: InventoryColumns,
  index: HaveIndex,
  sourcePrefix = '',
): Promise<void> {
  const row = new CsvRow();
  const prefix = Buffer.from(sourcePrefix, 'utf8');
  const add = (buf: Buffer, start: number, end: number) => {
    if (end > start && buf[end - 1] === 13) end--;
    if (end <= start) return;
    row.split(buf, start, end);
    if (columns.isDeleteMarker >= 0 && row.startsWith(columns.isDeleteMarker, 116 /* t */)) return;
    if (columns.isLatest >= 0 && row.startsWith(columns.isLatest, 102 /* f */)) return;
    const size = row.integer(columns.size);
    const modified = row.isoTime(columns.modified);
    // The usual key is plain bytes: indexed from the buffer, no string made. A URL-encoded one (`%`, `+`)
    // or one with doubled quotes is decoded to text first.
    const plain = row.plainRange(columns.key, prefix);
    if (plain === 'no') return;
    if (plain === 'yes') {
      index.addBytes(buf, row.start(columns.key) + prefix.length, row.end(columns.key), size, modified);
      return;
    }
    const raw = row.text(columns.key);
    const key = raw.includes('%') || raw.includes('+') ? decodeURIComponent(raw.replace(/\+/g, ' ')) : raw;
    if (!key.startsWith(sourcePrefix)) return;
    index.add(sourcePrefix === '' ? key : key.slice(sourcePrefix.length), size, modified);
  };
  // A row cut by a chunk's end is carried and joined with the next chunk's head alone: the chunk itself
  // is read in place, never copied.
  let carry: Buffer | null = null;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    if (carry) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        carry = Buffer.concat([carry, buf]);
        continue;
      }
      const row = Buffer.concat([carry, buf.subarray(0, nl)]);
      add(row, 0, row.length);
      start = nl + 1;
      carry = null;
    }
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      add(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
  }
  if (carry) add(carry, 0, carry.length);
}

/** The cells of one CSV row, as byte ranges of the buffer it was cut from. */
class CsvRow {
  #buf: Buffer = Buffer.alloc(0);
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  readonly #escaped: boolean[] = [];

  split(buf: Buffer, start: number, end: number): void {
    this.#buf = buf;
    this.#starts.length = 0;
    this.#ends.length = 0;
    this.#escaped.length = 0;
    let i = start;
    while (i <= end) {
      if (i < end && buf[i] === 34) {
        let j = i + 1;
        let escaped = false;
        for (;;) {
          j = buf.indexOf(34, j);
          if (j < 0 || j >= end) {
            j = end;
            break;
          }
          if (buf[j + 1] === 34) {
            escaped = true;
            j += 2;
            continue;
          }
          break;
        }
        this.#push(i + 1, j, escaped);
        i = j + 2; // the closing quote and the comma
      } else {
        let j = buf.indexOf(44, i);
        if (j < 0 || j > end) j = end;
        this.#push(i, j, false);
        i = j + 1;
      }
    }
  }

  get count(): number {
    return this.#starts.length;
  }

  /** Whether cell `n` begins with the byte `code`. */
  startsWith(n: number, code: number): boolean {
    const start = this.#starts[n];
    return start !== undefined && start < (this.#ends[n] as number) && this.#buf[start] === code;
  }

  /** Cell `n` as a whole number, read from its digits (NaN when it is not one). */
  integer(n: number): number {
    const start = this.#starts[n];
    const end = this.#ends[n];
    if (start === undefined || end === undefined || start === end) return Number.NaN;
    let value = 0;
    for (let i = start; i < end; i++) {
      const d = (this.#buf[i] as number) - 48;
      if (d < 0 || d > 9) return Number(this.text(n));
      value = value * 10 + d;
    }
    return value;
  }

  /** Cell `n`, an ISO time like 2024-03-13T10:00:00.000Z, as epoch ms; other forms through Date.parse. */
  isoTime(n: number): number {
    const s = this.#starts[n];
    const b = this.#buf;
    if (s === undefined || this.#ends[n] !== s + 24 || b[s + 10] !== 84 || b[s + 23] !== 90) {
      return Date.parse(this.text(n));
    }
    return Date.UTC(
      digits(b, s, 4),
      digits(b, s + 5, 2) - 1,
      digits(b, s + 8, 2),
      digits(b, s + 11, 2),
      digits(b, s + 14, 2),
      digits(b, s + 17, 2),
      digits(b, s + 20, 3),
    );
  }

  start(n: number): number {
    return this.#starts[n] as number;
  }

  end(n: number): number {
    return this.#ends[n] as number;
  }

  /**
   * Whether cell `n` is a key to take as its bytes: 'yes' when it begins
   * with `prefix` and needs no decoding (no `%`, `+` or doubled quote);
   * 'no' when it plainly does not begin with `prefix`; 'decode' otherwise.
   */
  plainRange(n: number, prefix: Uint8Array): 'yes' | 'no' | 'decode' {
    const start = this.#starts[n];
    if (start === undefined) return 'decode';
    const end = this.#ends[n] as number;
    const b = this.#buf;
    let needsDecoding = this.#escaped[n] === true;
    for (let i = start; i < end && !needsDecoding; i++) needsDecoding = b[i] === 37 /* % */ || b[i] === 43; /* + */
    if (needsDecoding) return 'decode';
    if (end - start < prefix.length) return 'no';
    for (let i = 0; i < prefix.length; i++) if (b[start + i] !== prefix[i]) return 'no';
    return 'yes';
  }

  /** Cell `n` as text ('' when the row is shorter). */
  text(n: number): string {
    const start = this.#starts[n];
    if (start === undefined) return '';
    const value = this.#buf.toString('utf8', start, this.#ends[n]);
    return this.#escaped[n] ? value.replace(/""/g, '"') : value;
  }

  #push(start: number, end: number, escaped: boolean): void {
    this.#starts.push(start);
    this.#ends.push(end);
    this.#escaped.push(escaped);
  }
}

/** The number `len` ASCII digits at `at` spell. */
function digits(b: Buffer, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) v = v * 10 + ((b[i] as number) - 48);
  return v;
}

/** One CSV line's cells: `"a","b ""c""",d` -> [a, b "c", d]. */
export function splitCsvLine(line: string): string[] {
  const buf = Buffer.from(line);
  const row = new CsvRow();
  row.split(buf, 0, buf.length);
  return Array.from({ length: row.count }, (_, n) => row.text(n));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
