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
import { HaveIndex, type Inventory, InventoryError, type InventoryObject } from './inventory.ts';

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
 */
export async function readInventoryCsv(
  stream: AsyncIterable<Buffer | string>,
  columns: InventoryColumns,
  index: HaveIndex,
  sourcePrefix = '',
): Promise<void> {
  let rest = '';
  const row = (line: string) => {
    if (line === '') return;
    const cells = splitCsvLine(line);
    if (columns.isDeleteMarker >= 0 && cells[columns.isDeleteMarker] === 'true') return;
    if (columns.isLatest >= 0 && cells[columns.isLatest] === 'false') return;
    const raw = cells[columns.key] ?? '';
    const key = raw.includes('%') || raw.includes('+') ? decodeURIComponent(raw.replace(/\+/g, ' ')) : raw;
    if (!key.startsWith(sourcePrefix)) return;
    index.add(
      key.slice(sourcePrefix.length),
      Number(cells[columns.size] ?? 0),
      Date.parse(cells[columns.modified] ?? ''),
    );
  };
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      row(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  row(rest.trimEnd());
}

/** One CSV line's cells: `"a","b ""c""",d` -> [a, b "c", d]. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cells.push(value);
      i++; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      cells.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return cells;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
