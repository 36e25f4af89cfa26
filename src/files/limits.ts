/**
 * How much the file intake takes: bounded in config (src/config.ts), passed to fetchAttachments.
 */

export interface FileLimits {
  /** Files taken from one message or command; the rest are refused by name. */
  maxFiles: number;
  /** Bytes of one file, checked against what Discord reported and again while downloading. */
  maxFileBytes: number;
  /** Bytes of all the files of one message together. */
  maxTotalBytes: number;
  /** One download, from the request to its last byte. */
  downloadTimeoutMs: number;
  /** Reading the text out of one PDF or DOCX. */
  extractTimeoutMs: number;
  /** Characters of text kept from one PDF or DOCX (the rest is cut, and the cut is said). */
  maxExtractedChars: number;
  /** Pages of one PDF that are read. */
  maxPdfPages: number;
}

const MIB = 1024 * 1024;

/** Discord's free upload limit (10 MiB since 2024), three files per /agent, and time to spare. */
export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFiles: 3,
  maxFileBytes: 10 * MIB,
  maxTotalBytes: 25 * MIB,
  downloadTimeoutMs: 30_000,
  extractTimeoutMs: 20_000,
  maxExtractedChars: 200_000,
  maxPdfPages: 100,
};

/** Sizes as people read them, in Discord's own units (1 MB = 1024 KB, as its upload limit says). */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(Number.isFinite(bytes) ? bytes : 0))} bytes`;
  const units = ['KB', 'MB', 'GB'] as const;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 ? Math.round(value).toString() : (Math.round(value * 10) / 10).toString();
  return `${shown} ${units[unit] ?? 'GB'}`;
}
