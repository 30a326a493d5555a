#!/usr/bin/env node
// Independent check of WARC files (tests only): reads each file with webrecorder's warcio.js
// parser, not with trawler's code, recomputes the digests with node's crypto and prints ONE
// JSON document on stdout:
//
//   {"files":[{"file":basename,"records":[{"type","target_uri","record_id","concurrent_to",
//     "offset","length","content_type","truncated","block_digest","payload_digest",
//     "block_digest_ok","payload_digest_ok","http_status","date","profile","refers_to",
//     "refers_to_target_uri","refers_to_date","warcinfo_id","http_content_type"}]}]}
//
// A revisit record's payload digest is the earlier capture's (WARC 1.1 6.7.2), so it is not
// recomputed (payload_digest_ok null); its HTTP header block is parsed for http_status.
//
// offset/length: the byte offset and compressed length of the record's gzip member, as warcio
// reports them (parser.offset, parser.recordLength: what its CDX indexer writes).
// *_ok: the digest recomputed here equals the header's; null when the header is absent.
//
// Exits 1 with a message on stderr on any parse error, and when the file is not a series of
// whole gzip members each holding exactly one record (members contiguous, the last one ending
// at the end of the file), or when a block is shorter than its Content-Length, or when warcio
// warns (it only warns about a record not followed by its CRLF CRLF).
//
// Usage: node tests/warc/check-warc.mjs FILE...   (npm ci --prefix tests/warc first)
//
// What warcio hands over (warcio 2.4.11, src/lib/warcrecord.ts, readers.ts):
// - record.readFully() / record.reader: the raw bytes. With parseHttp (the default) that is
//   the HTTP entity body exactly as stored: still chunked, still content-encoded; with
//   parseHttp:false it is the whole block (HTTP header block included).
// - record.readFully(true) / contentText() / iterating the record: the "content": warcio
//   removes a chunked Transfer-Encoding AND decodes the Content-Encoding (gzip, deflate via
//   pako; anything it cannot inflate is passed through). That is NOT the WARC payload (the
//   payload keeps the content coding), so it is not used for the payload digest.
// - warcio's de-chunker (new AsyncIterReader(source, null, true), which contentReader uses)
//   mishandles a trailer section: after the last chunk it expects CRLF, and on "0\r\nName:
//   value\r\n\r\n" it hands the trailer fields over as content (checked with 2.4.11). It also
//   keeps the raw bytes, chunk-size line included, when the FIRST chunk is cut short.
// So this script parses with parseHttp:false, takes the raw block (block digest), splits the
// HTTP header block off with warcio's StatusAndHeadersParser (what WARCParser itself does for
// parseHttp), and removes the chunked transfer coding itself (dechunk below, RFC 9112 7.1).

import { createReadStream, openSync, readSync, closeSync, statSync } from "node:fs";
import { basename } from "node:path";
import { createHash } from "node:crypto";
import { WARCParser, AsyncIterReader, StatusAndHeadersParser } from "warcio";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// RFC 4648 base32, with "=" padding (none for a 20-byte SHA-1).
function base32(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8) out += "=";
  return out;
}

function sha1(bytes) {
  return "sha1:" + base32(createHash("sha1").update(bytes).digest());
}

// Compares "sha1:BASE32" headers case-insensitively in the label ("SHA1:" occurs); null when
// the header is absent.
function digestOk(header, computed) {
  if (header == null) return null;
  const colon = header.indexOf(":");
  if (colon < 0) return false;
  const algo = header.slice(0, colon).toLowerCase();
  if (algo !== "sha1") throw new Error(`unsupported digest algorithm '${algo}'`);
  return "sha1:" + header.slice(colon + 1).toUpperCase() === computed;
}

// The HTTP message in a request/response block: its parsed header block and the raw body.
async function splitHttp(block) {
  const reader = new AsyncIterReader([block], null);
  const head = await new StatusAndHeadersParser().parse(reader, { headersClass: Headers });
  const body = await reader.readFully();
  return { head, body };
}

// Removes a chunked transfer coding (RFC 9112 7.1): the chunks' data, without chunk
// extensions or the trailer section. A body cut short keeps the whole chunks, then what there
// is of the cut chunk's data (a cut chunk-size line adds nothing). Where the body stops being
// valid chunked data (no hex chunk size, or a chunk not followed by CRLF), the rest is kept as
// it is.
function dechunk(body) {
  const parts = [];
  let pos = 0;
  while (pos < body.length) {
    const nl = body.indexOf(10, pos);
    const end = Math.min(nl < 0 ? body.length : nl, pos + 80);  // enough for the size
    const line = Buffer.from(body.subarray(pos, end)).toString("latin1");
    const m = /^[ \t]*([0-9a-fA-F]+)/.exec(line);
    const size = m ? parseInt(m[1], 16) : NaN;
    if (!(size >= 0 && size <= 2 ** 32)) {
      parts.push(body.subarray(pos));
      break;
    }
    if (nl < 0 || size === 0) break;
    const data = nl + 1;
    if (body.length - data < size) {
      parts.push(body.subarray(data));
      break;
    }
    parts.push(body.subarray(data, data + size));
    const after = data + size;
    if (body[after] !== 13 || body[after + 1] !== 10) {
      parts.push(body.subarray(after));
      break;
    }
    pos = after + 2;
  }
  return Buffer.concat(parts);
}

// The WARC 1.1 payload: the body with a chunked transfer coding removed, content coding kept.
function payloadOf(head, body) {
  const te = (head.headers.get("transfer-encoding") || "").split(",");
  const last = te[te.length - 1].split(";")[0].trim().toLowerCase();
  return last === "chunked" ? dechunk(body) : body;
}

function isGzip(path) {
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

const warnings = [];
console.warn = (...args) => warnings.push(args.join(" "));

async function checkFile(path) {
  const size = statSync(path).size;
  if (!isGzip(path)) throw new Error(`${path}: not a gzip file`);
  const parser = new WARCParser(createReadStream(path), { parseHttp: false });
  const records = [];
  for await (const record of parser) {
    const block = await record.readFully(false);
    const offset = parser.offset;
    const length = parser.recordLength;
    const type = record.warcType;
    const contentLength = record.warcContentLength;
    if (record.warcHeaders.statusline !== "WARC/1.1")
      throw new Error(`${path} @${offset}: version line '${record.warcHeaders.statusline}'`);
    if (!Number.isInteger(contentLength) || block.length !== contentLength)
      throw new Error(
        `${path} @${offset}: block of ${block.length} bytes, Content-Length ${contentLength}`,
      );
    const blockDigest = record.warcBlockDigest ?? null;
    const payloadDigest = record.warcPayloadDigest ?? null;
    let httpStatus = null;
    let httpContentType = null;
    let payloadOk = null;
    if (type === "revisit") {
      const { head } = await splitHttp(block);
      if (!head) throw new Error(`${path} @${offset}: revisit record without an HTTP header`);
      httpStatus = typeof head.statusCode === "number" ? head.statusCode : null;
    }
    if (type === "response" || type === "request") {
      const { head, body } = await splitHttp(block);
      if (!head) throw new Error(`${path} @${offset}: ${type} record without an HTTP header`);
      if (type === "response") {
        httpStatus = typeof head.statusCode === "number" ? head.statusCode : null;
        httpContentType = head.headers.get("content-type") ?? null;
        if (payloadDigest != null) payloadOk = digestOk(payloadDigest, sha1(payloadOf(head, body)));
      }
    }
    records.push({
      type: type ?? null,
      target_uri: record.warcTargetURI ?? null,
      record_id: record.warcHeader("WARC-Record-ID") ?? null,
      concurrent_to: record.warcHeader("WARC-Concurrent-To") ?? null,
      offset,
      length,
      content_type: record.warcContentType ?? null,
      truncated: record.warcHeader("WARC-Truncated") ?? null,
      block_digest: blockDigest,
      payload_digest: payloadDigest,
      block_digest_ok: digestOk(blockDigest, sha1(block)),
      payload_digest_ok: payloadOk,
      http_status: httpStatus,
      date: record.warcDate ?? null,
      profile: record.warcHeader("WARC-Profile") ?? null,
      refers_to: record.warcHeader("WARC-Refers-To") ?? null,
      refers_to_target_uri: record.warcHeader("WARC-Refers-To-Target-URI") ?? null,
      refers_to_date: record.warcHeader("WARC-Refers-To-Date") ?? null,
      warcinfo_id: record.warcHeader("WARC-Warcinfo-ID") ?? null,
      http_content_type: httpContentType,
    });
  }
  if (warnings.length) throw new Error(`${path}: warcio: ${warnings.join("; ")}`);
  // One record per member, members back to back up to the end of the file.
  let end = 0;
  for (const r of records) {
    if (r.offset !== end || !(r.length > 0))
      throw new Error(`${path}: record at ${r.offset} (length ${r.length}) does not start at ${end}`);
    end = r.offset + r.length;
  }
  if (end !== size) throw new Error(`${path}: ${size - end} bytes after the last whole record`);
  return { file: basename(path), records };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node check-warc.mjs FILE...\n");
  process.exit(2);
}
try {
  const out = { files: [] };
  for (const f of files) out.files.push(await checkFile(f));
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  process.stderr.write(`check-warc: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}
