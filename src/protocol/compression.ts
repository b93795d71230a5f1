// Message body compression (celery-wire.md §4.2). kombu's `gzip` is a zlib stream (RFC 1950,
// `78 9c`), not a gzip file: it must be inflated, never gunzipped.
import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from 'node:zlib';
import { ContentDisallowed, DecodeError } from '../errors.js';

const HEADER_BY_ALIAS: Record<string, string> = {
  gzip: 'application/x-gzip',
  zlib: 'application/x-gzip',
  brotli: 'application/x-brotli',
};

const UNSUPPORTED: Record<string, string> = {
  'application/x-bz2': 'bzip2',
  'application/x-lzma': 'lzma',
  'application/zstd': 'zstd',
};

/** The `compression` header value for an alias (`gzip` → `application/x-gzip`). */
export function compressionHeader(alias: string): string {
  const header = HEADER_BY_ALIAS[alias];
  if (!header) throw new ContentDisallowed(`unsupported compression '${alias}' (supported: gzip, zlib, brotli)`);
  return header;
}

export function compress(body: Buffer, alias: string): Buffer {
  return compressionHeader(alias) === 'application/x-brotli' ? brotliCompressSync(body) : deflateSync(body);
}

/** Undo the compression named by a `compression` header value (MIME type or alias). */
export function decompress(body: Buffer, header: string): Buffer {
  const type = HEADER_BY_ALIAS[header] ?? header;
  if (UNSUPPORTED[type]) throw new ContentDisallowed(`compression ${type} (${UNSUPPORTED[type]}) is not supported; use gzip or brotli`);
  try {
    if (type === 'application/x-gzip') return inflateSync(body);
    if (type === 'application/x-brotli') return brotliDecompressSync(body);
  } catch (error) {
    throw new DecodeError(`cannot decompress ${type} body: ${(error as Error).message}`);
  }
  throw new ContentDisallowed(`unknown compression '${header}'`);
}
