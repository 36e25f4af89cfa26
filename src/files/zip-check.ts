/**
 * A DOCX is a zip; a zip bomb (a few MB unpacking to GBs) would exhaust memory while the DOCX
 * reader inflates it. The central directory says how large each part unpacks: refuse before
 * reading when that is too much. (Layout: PKWARE APPNOTE.TXT 4.3.12 and 4.3.16.)
 */

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const END_RECORD_SEARCH = 22 + 0xffff;

export type ZipSize = { ok: true; unpackedBytes: number; entries: number } | { ok: false };

/** The unpacked size the zip declares, or not ok when the directory is missing, damaged or ZIP64. */
export function declaredUnpackedSize(zip: Buffer): ZipSize {
  const from = Math.max(0, zip.length - END_RECORD_SEARCH);
  let end = -1;
  for (let i = zip.length - 22; i >= from; i -= 1) {
    if (zip.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) return { ok: false };
  const entries = zip.readUInt16LE(end + 10);
  const directoryOffset = zip.readUInt32LE(end + 16);
  let at = directoryOffset;
  let unpackedBytes = 0;
  for (let n = 0; n < entries; n += 1) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) return { ok: false };
    const size = zip.readUInt32LE(at + 24);
    // 0xFFFFFFFF defers to a ZIP64 field: no Word document needs one.
    if (size === 0xffffffff) return { ok: false };
    unpackedBytes += size;
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return { ok: true, unpackedBytes, entries };
}
