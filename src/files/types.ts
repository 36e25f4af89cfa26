/**
 * Files handed to a run (attachments of `/agent`, of conversation messages, of a message given to
 * "Ask Cairn") and files a run hands back. Shared by the intake (src/files), the agent core and
 * the surfaces; nothing here knows Discord beyond the shape of an attachment it gives.
 */

/** An attachment as Discord described it. Only `url` is fetched, and only from Discord's CDN. */
export interface AttachmentRef {
  /** The file name as uploaded (untrusted: sanitised before use). */
  name: string;
  url: string;
  /** Bytes, as Discord reported them (checked again while downloading). */
  size: number;
  contentType: string | null;
}

/** text: text, code, CSV, JSON, Markdown; document: PDF/DOCX (text extracted); image: png/jpeg/gif/webp. */
export type FileKind = 'text' | 'document' | 'image';

/** A file that arrived, ready to be put into a run's workspace. */
export interface IncomingFile {
  /** Sanitised and unique within the run: the name it gets in the workspace. */
  name: string;
  kind: FileKind;
  mimeType: string;
  bytes: Buffer;
  /** PDF and DOCX: the extracted text, written beside the original as `<name>.txt`. */
  extractedText?: string;
  /** Something the sender should know about a file that was taken (e.g. "only the first 100 of its 300 pages were read"). */
  note?: string;
}

/** A file that was not taken, and why, in words for the person who sent it. */
export interface FileRefusal {
  name: string;
  reason: string;
}

export interface Intake {
  files: IncomingFile[];
  refused: FileRefusal[];
}

/** A workspace file a run attached to its answer (the attach_file tool). */
export interface OutgoingFile {
  /** The name it is posted under. */
  name: string;
  /** Relative to the run's workspace directory, with forward slashes. */
  path: string;
  bytes: number;
}
