// The storage engine's public surface: open a data directory, then append (Appendable) and read (Queryable).
export { type EngineLogger, type EngineOptions, openStorage, StorageEngine } from './engine.js';
export { checkStorageDir, FORMAT_VERSION, HASH_NAME, type StorageMeta } from './storage-dir.js';
