import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { httpErrors, type McpHttpError } from '../protocol/http-errors.js';

/** The JSON body, or the error to answer with (`aborted`: the client went away, answer nothing). */
export type JsonBody = { ok: true; body: unknown } | { ok: false; aborted?: false; error: McpHttpError } | { ok: false; aborted: true };

/** `application/json` or `application/*+json`, whatever the parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json') && !type.includes('/', 12));
}

const UNSUPPORTED: JsonBody = { ok: false, error: httpErrors.unsupportedMediaType('use UTF-8 JSON') };
const PARSE_ERROR: JsonBody = { ok: false, error: httpErrors.parseError() };

/**
 * Reads a JSON request body the way express.json({ strict: true }) did, without Express: at most
 * `limit` bytes (after decompression), UTF-8 only, gzip/deflate/br inflated, an object or array at the
 * top level.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonBody> {
  // Built only when needed: an Error captures a stack, on every request otherwise.
  const tooLarge = (): JsonBody => ({ ok: false, error: httpErrors.tooLarge(limit) });
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return Promise.resolve(UNSUPPORTED);
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let stream: Readable = req;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = req.pipe(zlib.createGunzip());
  else if (encoding === 'deflate') stream = req.pipe(zlib.createInflate());
  else if (encoding === 'br') stream = req.pipe(zlib.createBrotliDecompress());
  else if (encoding !== 'identity') return Promise.resolve(UNSUPPORTED);
  else if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(tooLarge());

  return new Promise<JsonBody>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: JsonBody) => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering: the rest is discarded (Node drains an unread request after the answer).
        if (stream !== req) req.unpipe();
        settle(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => {
      // An empty body reads as {} (as express.json had it): the JSON-RPC check then names what is missing.
      if (size === 0) return settle({ ok: true, body: {} });
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      // Strict: an object or an array at the top level (JSON whitespace first).
      let i = 0;
      while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
      if (bytes[i] !== 0x7b && bytes[i] !== 0x5b) return settle(PARSE_ERROR);
      try {
        settle({ ok: true, body: JSON.parse(bytes.toString('utf8')) });
      } catch {
        settle(PARSE_ERROR);
      }
    });
    // A corrupt compressed body is the client's error; a dropped connection needs no answer.
    stream.once('error', () => settle(stream === req ? { ok: false, aborted: true } : PARSE_ERROR));
    req.once('aborted', () => settle({ ok: false, aborted: true }));
    req.once('close', () => {
      if (!req.complete) settle({ ok: false, aborted: true });
    });
  });
}
