// Message body compression (kombu/compression.py `compress` / `decompress`). kombu's `gzip` is a zlib
// stream (RFC 1950, `78 9c`), not a gzip file: it must be inflated, never gunzipped.
import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from 'node:zlib';
import { ContentDisallowed, DecodeError, MessageTooLarge } from '../errors.js';
import { oneLine } from './untrusted-text.js';

const GZIP = 'application/x-gzip';
const BROTLI = 'application/x-brotli';

/** kombu's registered aliases → the `compression` header value (MIME type). */
const TYPE_BY_ALIAS: Record<string, string> = {
  gzip: GZIP,
  zlib: GZIP,
  brotli: BROTLI,
  bzip2: 'application/x-bz2',
  bzip: 'application/x-bz2',
  lzma: 'application/x-lzma',
  xz: 'application/x-lzma',
  zstd: 'application/zstd',
  zstandard: 'application/zstd',
};

/** Compressions kombu knows that node:zlib cannot do, by MIME type. */
const UNSUPPORTED: Record<string, string> = {
  'application/x-bz2': 'bzip2',
  'application/x-lzma': 'lzma',
  'application/zstd': 'zstd',
};

/** Alias or MIME type → MIME type; refuses what we cannot (de)compress, naming it. */
function supportedType(name: string): string {
  const type = TYPE_BY_ALIAS[name] ?? name;
  if (UNSUPPORTED[type]) {
    throw new ContentDisallowed(`compression ${UNSUPPORTED[type]} (${type}) is not supported; use gzip (zlib) or brotli`);
  }
  if (type !== GZIP && type !== BROTLI) {
    throw new ContentDisallowed(`unknown compression "${oneLine(name, 100)}" (supported: gzip, zlib, brotli)`);
  }
  return type;
}

/** The `compression` header value for an alias (`gzip` → `application/x-gzip`). */
export function compressionHeader(alias: string): string {
  return supportedType(alias);
}

/** Compress a serialized body; `alias` is a kombu alias or MIME type. */
export function compress(body: Buffer, alias: string): Buffer {
  return supportedType(alias) === BROTLI ? brotliCompressSync(body) : deflateSync(body);
}

/**
 * Undo the compression named by a `compression` header value (MIME type or alias). `maxOutput`
 * bounds the inflated size: zlib stops there, so a decompression bomb costs at most that much
 * memory and time, and throws MessageTooLarge.
 */
export function decompress(body: Buffer, header: string, maxOutput?: number): Buffer {
  const type = supportedType(header);
  const options = maxOutput === undefined ? {} : { maxOutputLength: maxOutput };
  try {
    return type === BROTLI ? brotliDecompressSync(body, options) : inflateSync(body, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new MessageTooLarge(`the ${body.length}-byte ${type} body inflates past ${maxOutput} bytes`);
    }
    throw new DecodeError(`cannot decompress ${type} body: ${oneLine((error as Error).message)}`);
  }
}
