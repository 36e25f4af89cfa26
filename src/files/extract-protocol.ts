/** Messages between extract.ts and its child process (checked on both sides: the child reads a document an attacker wrote). */
import { z } from 'zod';

export const extractRequestSchema = z.object({
  format: z.enum(['pdf', 'docx']),
  bytes: z.instanceof(Uint8Array),
  maxPages: z.number().int().positive(),
  maxChars: z.number().int().positive(),
  /** DOCX: bytes its parts may unpack to, all together. */
  maxUnpackedBytes: z.number().int().positive(),
});
export type ExtractRequest = z.infer<typeof extractRequestSchema>;

export const extractReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    /** Tidied and cut to maxChars already (see text-cut.ts), so a huge text never crosses over. */
    text: z.string(),
    cut: z.boolean(),
    /** PDF: pages in the document, and pages read (at most maxPages). */
    pages: z.number().int().nonnegative().optional(),
    pagesRead: z.number().int().nonnegative().optional(),
  }),
  z.object({
    ok: z.literal(false),
    /** zip-bomb: a DOCX part inflates to more than the zip declares for it. */
    problem: z.enum(['encrypted', 'unreadable', 'zip-bomb', 'too-large']),
    declaredBytes: z.number().int().nonnegative().optional(),
  }),
]);
export type ExtractReply = z.infer<typeof extractReplySchema>;
