/**
 * A DOCX is a zip; a zip bomb (a few MB unpacking to GBs) would exhaust memory while the DOCX
 * reader inflates it. The central directory says how large each part unpacks: refuse before
 * reading when that is too much. What it says is only a claim: docx-unpack.ts holds every part
 * to it while inflating. (Layout: PKWARE APPNOTE.TXT 4.3.7, 4.3.12 and 4.3.16.)
 */

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const END_RECORD_SEARCH = 22 + 0xffff;

/** One part as the central directory describes it. */
export interface ZipEntry {
  /** The name's raw bytes (UTF-8 or CP437 by flag bit 11), copied as they are. */
  nameBytes: Buffer;
  flags: number;
  /** 0 stored, 8 deflated; anything else is refused by the reader. */
  method: number;
  crc32: number;
  compressedSize: number;
  /** Declared, not yet verified. */
  size: number;
  localHeaderOffset: number;
}

export type ZipDirectory = { ok: true; entries: ZipEntry[]; directoryOffset: number } | { ok: false };
export type ZipSize = { ok: true; unpackedBytes: number; entries: number } | { ok: false };

/** The central directory's entries, or not ok when it is missing, damaged or ZIP64. */
export function readCentralDirectory(zip: Buffer): ZipDirectory {
  const from = Math.max(0, zip.length - END_RECORD_SEARCH);
  let end = -1;
  for (let i = zip.length - 22; i >= from; i -= 1) {
    if (zip.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) return { ok: false };
  const count = zip.readUInt16LE(end + 10);
  const directoryOffset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  for (let n = 0; n < count; n += 1) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) return { ok: false };
    const nameLength = zip.readUInt16LE(at + 28);
    const entry: ZipEntry = {
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      crc32: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeaderOffset: zip.readUInt32LE(at + 42),
      nameBytes: zip.subarray(at + 46, at + 46 + nameLength),
    };
    // 0xFFFFFFFF defers to a ZIP64 field: no Word document needs one.
    if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localHeaderOffset === 0xffffffff) return { ok: false };
    if (entry.nameBytes.length !== nameLength) return { ok: false };
    entries.push(entry);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return { ok: true, entries, directoryOffset };
}

/** The unpacked size the zip declares, or not ok when the directory is missing, damaged or ZIP64. */
export function declaredUnpackedSize(zip: Buffer): ZipSize {
  const directory = readCentralDirectory(zip);
  if (!directory.ok) return { ok: false };
  const unpackedBytes = directory.entries.reduce((sum, entry) => sum + entry.size, 0);
  return { ok: true, unpackedBytes, entries: directory.entries.length };
}
