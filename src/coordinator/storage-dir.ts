/**
 * promshard.json: what a data directory was created with. Checked on every open so that a directory is
 * never read with a different shard count or hash (series would be looked for on the wrong shard).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export const FORMAT_VERSION = 1;
export const HASH_NAME = 'promshard-h64-v1';

export interface StorageMeta {
  formatVersion: number;
  shards: number;
  hash: string;
}

/** Creates or checks promshard.json in dir; throws an error saying what to do on a mismatch. */
export function checkStorageDir(dir: string, shards: number): StorageMeta {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'promshard.json');
  if (!existsSync(path)) {
    if (existsSync(join(dir, 'wal'))) {
      throw new Error(
        `${dir} has a wal/ directory but no promshard.json; it was not written by promshard or is damaged`,
      );
    }
    const meta: StorageMeta = { formatVersion: FORMAT_VERSION, shards, hash: HASH_NAME };
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    return meta;
  }
  let meta: StorageMeta;
  try {
    meta = JSON.parse(readFileSync(path, 'utf8')) as StorageMeta;
  } catch (err) {
    throw new Error(
      `${path} is not valid JSON (${(err as Error).message}); restore it or move the directory away`,
    );
  }
  if (meta.formatVersion !== FORMAT_VERSION) {
    throw new Error(
      `${path}: format version ${meta.formatVersion}, this promshard reads version ${FORMAT_VERSION}`,
    );
  }
  if (meta.hash !== HASH_NAME)
    throw new Error(`${path}: series hash ${meta.hash}, this promshard uses ${HASH_NAME}`);
  if (meta.shards !== shards) {
    throw new Error(
      `${dir} was created with ${meta.shards} shards but ${shards} were asked for. Re-sharding an existing ` +
        `directory is not supported: start with --storage.tsdb.shards=${meta.shards} (or the shards option ` +
        `${meta.shards}) to use this data, or point --storage.tsdb.path at a new directory.`,
    );
  }
  return meta;
}
