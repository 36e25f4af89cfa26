/**
 * PDF and DOCX attachments: their text is read out (in a child process, bounded) and a document that
 * cannot be read is refused with a reason, never a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAttachments, refusalText, type FetchAttachmentsOptions } from '../../src/files/index.js';
import { startFakeCdn, type FakeCdn } from './fake-cdn.js';
import { fixture, limits, ref } from './helpers.js';

let cdn: FakeCdn;
beforeAll(async () => { cdn = await startFakeCdn(); });
afterAll(async () => { await cdn.close(); });

function served(name: string, fixtureName: string) {
  const bytes = fixture(fixtureName);
  const path = `/attachments/7/${String(Math.random()).slice(2)}/${name}`;
  cdn.file(path, bytes);
  return ref(name, cdn.url(path), bytes.length);
}

function options(overrides: Partial<FetchAttachmentsOptions['limits']> = {}): FetchAttachmentsOptions {
  return { cdnOrigins: [cdn.origin], limits: limits({ maxFiles: 10, ...overrides }) };
}

describe('documents', () => {
  it('extracts the text of a PDF and of a DOCX, keeping the originals', async () => {
    const intake = await fetchAttachments([served('report.pdf', 'report.pdf'), served('notes.docx', 'notes.docx')], options());
    expect(intake.refused).toEqual([]);
    const [pdf, docx] = intake.files;
    expect([pdf?.name, pdf?.kind, pdf?.mimeType]).toEqual(['report.pdf', 'document', 'application/pdf']);
    expect(pdf?.extractedText).toBe('Quarterly revenue grew 12 percent in Lisbon');
    expect(pdf?.bytes.equals(fixture('report.pdf'))).toBe(true);
    expect(pdf?.note).toBeUndefined();
    expect([docx?.name, docx?.kind, docx?.mimeType]).toEqual(['notes.docx', 'document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document']);
    expect(docx?.extractedText).toBe('Meeting notes: ship the beta on Friday\n\nOwner: Ana');
  });

  it('reads at most the configured pages and characters, and says so', async () => {
    const pages = await fetchAttachments([served('long.pdf', 'two-pages.pdf')], options({ maxPdfPages: 1 }));
    expect(pages.files[0]?.extractedText).toBe('First page about apples');
    expect(pages.files[0]?.note).toBe('only the first 1 of its 2 pages were read');
    const chars = await fetchAttachments([served('long.pdf', 'two-pages.pdf')], options({ maxExtractedChars: 1_000, maxPdfPages: 2 }));
    expect(chars.files[0]?.extractedText).toBe('First page about apples\n\nSecond page about pears');
    const cut = await fetchAttachments([served('notes.docx', 'notes.docx')], options({ maxExtractedChars: 13 }));
    expect(cut.files[0]?.extractedText).toBe('Meeting notes');
    expect(cut.files[0]?.note).toBe('its text was cut at 13 characters');
  });

  it('refuses a corrupt PDF, a password-protected PDF and a zip bomb dressed as DOCX, and takes the rest', async () => {
    const intake = await fetchAttachments(
      [served('broken.pdf', 'corrupt.pdf'), served('locked.pdf', 'locked.pdf'), served('huge.docx', 'bomb.docx'), served('fine.txt', 'make-fixtures.py')],
      options(),
    );
    expect(intake.files.map((f) => f.name)).toEqual(['fine.txt']);
    expect(intake.refused.map(refusalText)).toEqual([
      'broken.pdf: it is not a valid PDF file (damaged, or not really a PDF)',
      'locked.pdf: the PDF is password-protected; send an unprotected copy',
      'huge.docx: it unpacks to 120 MB, more than the 100 MB a document may',
    ]);
  });

  it('refuses a document whose reading passes its deadline, or whose run was cancelled', async () => {
    // No reading process starts and reads a PDF within a millisecond: the deadline always passes first.
    const late = await fetchAttachments([served('report.pdf', 'report.pdf')], options({ extractTimeoutMs: 1 }));
    expect(late.refused.map(refusalText)).toEqual(['report.pdf: reading its text took longer than 1 s']);
    const controller = new AbortController();
    controller.abort();
    const cancelled = await fetchAttachments([served('report.pdf', 'report.pdf')], { ...options(), signal: controller.signal });
    expect(cancelled.refused.map(refusalText)).toEqual(['report.pdf: the run was cancelled before it was read']);
  });

  it('refuses a zip named .docx that is no Word document', async () => {
    const intake = await fetchAttachments([served('fake.docx', 'archive.zip')], options());
    expect(intake.refused.map(refusalText)).toEqual(['fake.docx: it is not a valid DOCX file (damaged, or not really a DOCX)']);
  });

  it('keeps the name of a document\'s text file free', async () => {
    const text = Buffer.from('an earlier file');
    cdn.file('/attachments/7/1/report.pdf.txt', text);
    const intake = await fetchAttachments([ref('report.pdf.txt', cdn.url('/attachments/7/1/report.pdf.txt'), text.length), served('report.pdf', 'report.pdf')], options());
    expect(intake.files.map((f) => f.name)).toEqual(['report.pdf.txt', 'report (2).pdf']);
  });
});
