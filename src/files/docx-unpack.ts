/**
 * Unpacks a DOCX ourselves before the DOCX reader sees it. JSZip (inside mammoth) trusts the sizes
 * a zip declares and inflates into memory outside the V8 heap, so a part declared as 1 KB that
 * inflates to GBs takes the process down. Here every part is inflated with a hard output cap (its
 * declared size, the declared total being bounded first) and must match its size and CRC exactly;
 * the verified parts are then re-packed uncompressed, so the reader only copies bytes already held.
 * (Layout: PKWARE APPNOTE.TXT 4.3.7 local header, 4.3.12 central directory, 4.3.16 end record.)
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { readCentralDirectory, type ZipEntry } from './zip-check.js';

const LOCAL_FILE_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
/** General purpose flag bit 0: the part is encrypted (no Word document is). */
const FLAG_ENCRYPTED = 0x1;
/** Bit 11: the name is UTF-8; kept when re-packing, every other bit dropped. */
const FLAG_UTF8 = 0x800;

export interface ZipPart { nameBytes: Buffer; flags: number; data: Buffer }

export type Unpacked =
  | { ok: true; parts: ZipPart[] }
  /** damaged: not a zip we read; too-large: declares more than allowed; lies: unpacks to other than it declares. */
  | { ok: false; problem: 'damaged' | 'too-large' | 'lies'; declaredBytes?: number };

function compressedData(zip: Buffer, entry: ZipEntry, directoryOffset: number): Buffer | undefined {
  const at = entry.localHeaderOffset;
  if (at + 30 > directoryOffset || zip.readUInt32LE(at) !== LOCAL_FILE_HEADER) return undefined;
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  return end > directoryOffset ? undefined : zip.subarray(start, end);
}

function inflated(data: Buffer, entry: ZipEntry): Buffer | 'lies' | 'damaged' {
  if (entry.method === STORED) return data;
  if (entry.method !== DEFLATED) return 'damaged';
  try {
    // The cap stops inflating at the declared size: a part that lies costs at most that much.
    return inflateRawSync(data, { maxOutputLength: Math.max(1, entry.size) });
  } catch (error) {
    return error instanceof RangeError ? 'lies' : 'damaged';
  }
}

/** Every part of `zip`, inflated and checked, or why not; at most `maxTotalBytes` are ever inflated. */
export function unpackZip(zip: Buffer, maxTotalBytes: number): Unpacked {
  const directory = readCentralDirectory(zip);
  if (!directory.ok || directory.directoryOffset > zip.length) return { ok: false, problem: 'damaged' };
  const declaredBytes = directory.entries.reduce((sum, entry) => sum + entry.size, 0);
  if (declaredBytes > maxTotalBytes) return { ok: false, problem: 'too-large', declaredBytes };
  const parts: ZipPart[] = [];
  const names = new Set<string>();
  for (const entry of directory.entries) {
    const name = entry.nameBytes.toString('latin1');
    // A second part of the same name would let the reader see one we did not check.
    if (names.has(name) || (entry.flags & FLAG_ENCRYPTED) !== 0) return { ok: false, problem: 'damaged' };
    names.add(name);
    const data = compressedData(zip, entry, directory.directoryOffset);
    if (data === undefined) return { ok: false, problem: 'damaged' };
    const out = inflated(data, entry);
    if (out === 'lies' || out === 'damaged') return { ok: false, problem: out };
    if (out.length !== entry.size) return { ok: false, problem: 'lies' };
    if (crc32(out) !== entry.crc32) return { ok: false, problem: 'damaged' };
    parts.push({ nameBytes: entry.nameBytes, flags: entry.flags & FLAG_UTF8, data: out });
  }
  return { ok: true, parts };
}

/** A zip of `parts`, uncompressed (method 0), for a reader that must not inflate anything. */
export function storedZip(parts: readonly ZipPart[]): Buffer {
  const chunks: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const crc = crc32(part.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_FILE_HEADER, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(part.flags, 6);
    local.writeUInt16LE(STORED, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(part.data.length, 18);
    local.writeUInt32LE(part.data.length, 22);
    local.writeUInt16LE(part.nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(part.flags, 8);
    central.writeUInt16LE(STORED, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(part.data.length, 20);
    central.writeUInt32LE(part.data.length, 24);
    central.writeUInt16LE(part.nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    chunks.push(local, part.nameBytes, part.data);
    directory.push(central, part.nameBytes);
    offset += 30 + part.nameBytes.length + part.data.length;
  }
  const directoryBytes = directory.reduce((sum, chunk) => sum + chunk.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directoryBytes, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...directory, end]);
}
