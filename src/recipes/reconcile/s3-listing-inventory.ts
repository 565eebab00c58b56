import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { HaveIndex } from './have-index.ts';
import { type Inventory, InventoryError, type InventoryObject } from './inventory.ts';

export interface S3ListingInventoryOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Keys are reported relative to it. Default '' (the whole bucket). */
  readonly prefix?: string;
  /**
   * Prefix shards listed at once. With more than 1, the top level under
   * `prefix` is read first (one call with delimiter `/`) and each
   * sub-prefix is listed on its own, up to this many at a time: a large
   * bucket lists in a fraction of the time. Default 1.
   */
  readonly parallel?: number;
  /** Keys per ListObjectsV2 page (max 1000, the default). */
  readonly pageSize?: number;
}

/**
 * HAVE from S3 by listing (`ListObjectsV2`, paginated through
 * continuation tokens; prefix-sharded in parallel for large buckets).
 * Every call carries the scan's AbortSignal. The client is the caller's
 * (region, endpoint, credentials, retries); see s3-client.ts for the one
 * built from config.
 *
 * @example
 * const inventory = new S3ListingInventory({ client, bucket: 'lake', prefix: 'raw/', parallel: 8 });
 */
export class S3ListingInventory implements Inventory {
  readonly description: string;
  readonly #o: S3ListingInventoryOptions;
  readonly #prefix: string;

  constructor(options: S3ListingInventoryOptions) {
    this.#o = options;
    this.#prefix = options.prefix ?? '';
    this.description = `s3://${options.bucket}/${this.#prefix}`;
  }

  async scan(signal: AbortSignal): Promise<HaveIndex> {
    const index = new HaveIndex();
    try {
      const parallel = Math.max(1, this.#o.parallel ?? 1);
      if (parallel === 1) {
        await this.#list(this.#prefix, undefined, index, signal);
        return index;
      }
      const shards: string[] = [];
      await this.#list(this.#prefix, '/', index, signal, shards);
      let next = 0;
      const worker = async () => {
        while (next < shards.length) await this.#list(shards[next++] as string, undefined, index, signal);
      };
      await Promise.all(Array.from({ length: Math.min(parallel, shards.length) }, worker));
      return index;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new InventoryError(`inventory ${this.description}: listing failed: ${messageOf(error)}`, { cause: error });
    }
  }

  async stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined> {
    try {
      const head = await this.#o.client.send(
        new HeadObjectCommand({ Bucket: this.#o.bucket, Key: this.#prefix + key }),
        {
          abortSignal: signal,
        },
      );
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      if (signal.aborted) throw signal.reason;
      throw new InventoryError(`inventory ${this.description}: cannot stat ${key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async probe(signal: AbortSignal): Promise<void> {
    try {
      await this.#o.client.send(
        new ListObjectsV2Command({ Bucket: this.#o.bucket, Prefix: this.#prefix, MaxKeys: 1 }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw new InventoryError(`inventory ${this.description}: ${messageOf(error)}`, { cause: error });
    }
  }

  locate(key: string): string {
    return `s3://${this.#o.bucket}/${this.#prefix}${key}`;
  }

  /** Lists `prefix` into `index`; with a delimiter, the common prefixes go to `shards`. */
  async #list(
    prefix: string,
    delimiter: string | undefined,
    index: HaveIndex,
    signal: AbortSignal,
    shards?: string[],
  ): Promise<void> {
    const cut = this.#prefix.length;
    let token: string | undefined;
    do {
      const page = await this.#o.client.send(
        new ListObjectsV2Command({
          Bucket: this.#o.bucket,
          Prefix: prefix,
          MaxKeys: this.#o.pageSize ?? 1000,
          ...(delimiter !== undefined && { Delimiter: delimiter }),
          ...(token !== undefined && { ContinuationToken: token }),
        }),
        { abortSignal: signal },
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        index.add(object.Key.slice(cut), object.Size ?? 0, object.LastModified?.getTime() ?? 0);
      }
      for (const common of page.CommonPrefixes ?? []) if (common.Prefix) shards?.push(common.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
