/**
 * Decompression bombs built at test time (a few hundred KB each, so none is committed): a DOCX
 * whose document part declares 1,000 bytes and inflates to hundreds of MB, and a PDF whose
 * FlateDecode content stream does the same. Built by streaming, so the test process never holds
 * the inflated bytes itself.
 */
import { crc32, createDeflate, createDeflateRaw, type Deflate, type DeflateRaw } from 'node:zlib';

const MIB = 1024 * 1024;

/** `mib` MiB of `fill`, compressed by `stream`, and the CRC-32 of the uncompressed bytes. */
async function squeeze(stream: Deflate | DeflateRaw, prefix: string, mib: number, fill: string, suffix: string): Promise<{ data: Buffer; crc: number; size: number }> {
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => { stream.on('end', resolve).on('error', reject); });
  const chunk = Buffer.from(fill.repeat(Math.ceil(MIB / fill.length)).slice(0, MIB));
  let crc = 0;
  let size = 0;
  const write = async (bytes: Buffer) => {
    crc = crc32(bytes, crc);
    size += bytes.length;
    if (!stream.write(bytes)) await new Promise((resolve) => stream.once('drain', resolve));
  };
  await write(Buffer.from(prefix));
  for (let i = 0; i < mib; i += 1) await write(chunk);
  await write(Buffer.from(suffix));
  stream.end();
  await done;
  return { data: Buffer.concat(out), crc, size };
}

interface Part { name: string; data: Buffer; crc: number; size: number; method: 0 | 8 }

/** A zip of `parts` (PKWARE APPNOTE.TXT 4.3), each declaring the size it is given, true or not. */
function zip(parts: readonly Part[]): Buffer {
  const chunks: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const name = Buffer.from(part.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(part.method, 8);
    local.writeUInt32LE(part.crc, 14);
    local.writeUInt32LE(part.data.length, 18);
    local.writeUInt32LE(part.size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(part.method, 10);
    central.writeUInt32LE(part.crc, 16);
    central.writeUInt32LE(part.data.length, 20);
    central.writeUInt32LE(part.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    chunks.push(local, name, part.data);
    directory.push(central, name);
    offset += 30 + name.length + part.data.length;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.reduce((sum, b) => sum + b.length, 0), 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...directory, end]);
}

function stored(name: string, text: string): Part {
  const data = Buffer.from(text);
  return { name, data, crc: crc32(data), size: data.length, method: 0 };
}

/** A DOCX (ECMA-376 part 2: the three parts Word needs) whose document part declares 1,000 bytes but inflates to `mib` MiB. */
export async function lyingDocx(mib: number): Promise<Buffer> {
  const body = await squeeze(
    createDeflateRaw({ level: 9 }),
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>',
    mib, ' ', 'bomb</w:t></w:r></w:p></w:body></w:document>',
  );
  return zip([
    stored('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
    stored('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
    { name: 'word/document.xml', data: body.data, crc: body.crc, size: 1000, method: 8 },
  ]);
}

/** A one-page PDF 1.4 (ISO 32000-1 7.5) whose content stream is `mib` MiB of blanks and `BT ET` behind FlateDecode (7.4.4). */
export async function flateBombPdf(mib: number): Promise<Buffer> {
  const content = await squeeze(createDeflate({ level: 9 }), 'BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n', mib, ' BT ET                                                          \n', '');
  const objects = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [4 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>'),
    Buffer.concat([Buffer.from(`<< /Length ${content.data.length} /Filter /FlateDecode >>\nstream\n`), content.data, Buffer.from('\nendstream')]),
  ];
  const chunks = [Buffer.from('%PDF-1.4\n')];
  let length = chunks[0]?.length ?? 0;
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(length);
    const object = Buffer.concat([Buffer.from(`${index + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    chunks.push(object);
    length += object.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((at) => `${String(at).padStart(10, '0')} 00000 n \n`)].join('');
  chunks.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(chunks);
}
