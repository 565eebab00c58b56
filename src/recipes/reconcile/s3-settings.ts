import { loadOptional } from '../../core/optional-package.ts';
import type { HaveIndex } from './have-index.ts';
import type { Inventory, InventoryObject } from './inventory.ts';

/** An optional peer of autoloop: only S3 inventories need it. */
const S3_PACKAGE = ['@aws-sdk/client-s3@3.1169.0'];

/** `inventory: { s3: ... }` as validated. Credentials come from the AWS SDK's default chain (env, profile, role). */
export interface S3Settings {
  readonly bucket: string;
  readonly prefix?: string | undefined;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
  readonly parallel?: number | undefined;
}

/**
 * An S3 listing inventory whose SDK loads on first use: a config with a
 * directory inventory never loads @aws-sdk/client-s3, and one with S3 loads
 * it when the first scan runs, not when the config is read.
 */
export function lazyS3Inventory(settings: S3Settings): Inventory {
  const prefix = settings.prefix ?? '';
  let real: Promise<Inventory> | undefined;
  const load = () => {
    real ??= (async () => {
      const [{ S3Client }, { S3ListingInventory }] = await loadOptional(
        'S3 listing inventories (`inventory: { s3 }`)',
        S3_PACKAGE,
        () => Promise.all([import('@aws-sdk/client-s3'), import('./s3-listing-inventory.ts')]),
      );
      const client = new S3Client({
        region: settings.region ?? 'us-east-1',
        ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
        ...(settings.forcePathStyle !== undefined && { forcePathStyle: settings.forcePathStyle }),
      });
      return new S3ListingInventory({
        client,
        bucket: settings.bucket,
        prefix,
        ...(settings.parallel !== undefined && { parallel: settings.parallel }),
      });
    })();
    return real;
  };
  return {
    description: `s3://${settings.bucket}/${prefix}`,
    scan: async (signal): Promise<HaveIndex> => (await load()).scan(signal),
    stat: async (key, signal): Promise<InventoryObject | undefined> => (await load()).stat(key, signal),
    probe: async (signal) => (await load()).probe(signal),
    locate: (key) => `s3://${settings.bucket}/${prefix}${key}`,
  };
}

/** `inventory: { s3Inventory: ... }` as validated. */
export interface S3InventoryReportSettings {
  /** The bucket the reports are delivered to. */
  readonly bucket: string;
  /** `<destination prefix>/<source bucket>/<configuration id>/`. */
  readonly prefix: string;
  readonly sourcePrefix?: string | undefined;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
}

/** An S3 Inventory report inventory whose SDK loads on first use (see {@link lazyS3Inventory}). */
export function lazyS3InventoryReport(settings: S3InventoryReportSettings): Inventory {
  let real: Promise<Inventory> | undefined;
  const load = () => {
    real ??= (async () => {
      const [{ S3Client }, { S3InventoryReport }] = await loadOptional(
        'S3 Inventory reports (`inventory: { s3Inventory }`)',
        S3_PACKAGE,
        () => Promise.all([import('@aws-sdk/client-s3'), import('./s3-inventory-report.ts')]),
      );
      const client = new S3Client({
        region: settings.region ?? 'us-east-1',
        ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
        ...(settings.forcePathStyle !== undefined && { forcePathStyle: settings.forcePathStyle }),
      });
      return new S3InventoryReport({
        client,
        bucket: settings.bucket,
        prefix: settings.prefix,
        ...(settings.sourcePrefix !== undefined && { sourcePrefix: settings.sourcePrefix }),
      });
    })();
    return real;
  };
  let loaded: Inventory | undefined;
  return {
    description: `s3 inventory s3://${settings.bucket}/${settings.prefix}`,
    scan: async (signal): Promise<HaveIndex> => {
      loaded = await load();
      return loaded.scan(signal);
    },
    stat: async (key, signal): Promise<InventoryObject | undefined> => (await load()).stat(key, signal),
    probe: async (signal) => (await load()).probe(signal),
    // The source bucket is known once a manifest was read.
    locate: (key) => loaded?.locate(key) ?? `s3://<source bucket>/${settings.sourcePrefix ?? ''}${key}`,
  };
}
