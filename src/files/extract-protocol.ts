/** Messages between extract.ts and its worker (checked on both sides: the worker reads a document an attacker wrote). */
import { z } from 'zod';

export const extractRequestSchema = z.object({
  format: z.enum(['pdf', 'docx']),
  bytes: z.instanceof(Uint8Array),
  maxPages: z.number().int().positive(),
  maxChars: z.number().int().positive(),
});
export type ExtractRequest = z.infer<typeof extractRequestSchema>;

export const extractReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    text: z.string(),
    /** PDF: pages in the document, and pages read (at most maxPages). */
    pages: z.number().int().nonnegative().optional(),
    pagesRead: z.number().int().nonnegative().optional(),
  }),
  z.object({ ok: z.literal(false), problem: z.enum(['encrypted', 'unreadable']) }),
]);
export type ExtractReply = z.infer<typeof extractReplySchema>;
