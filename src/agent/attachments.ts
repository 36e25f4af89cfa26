/**
 * The files a run attaches to its answer (the attach_file tool): in order, one entry per file,
 * at most MAX_ATTACHMENTS, names unique so a surface can post them side by side. Checked again
 * when the run ends: a file deleted or replaced by something else since is left out.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingFile } from '../files/types.js';
import type { AttachResult } from '../tools/types.js';

export const MAX_ATTACHMENTS = 10;

export class RunAttachments {
  readonly #files: OutgoingFile[] = [];

  /** Adds a file; a path already attached keeps its place. Throws with words for the model when full. */
  add(file: OutgoingFile): AttachResult {
    const same = this.#files.findIndex((f) => f.path === file.path);
    if (same !== -1) {
      const kept = this.#files[same];
      if (kept !== undefined) this.#files[same] = { ...kept, bytes: file.bytes };
      return { name: kept?.name ?? file.name, already: true, count: this.#files.length, max: MAX_ATTACHMENTS };
    }
    if (this.#files.length >= MAX_ATTACHMENTS) {
      throw new Error(`this run already attached ${MAX_ATTACHMENTS} files, the most one answer carries; put the rest in fewer files (e.g. one CSV or a zip made with run_code) or leave them out`);
    }
    const name = this.#unique(file.name);
    this.#files.push({ ...file, name });
    return { name, already: false, count: this.#files.length, max: MAX_ATTACHMENTS };
  }

  get files(): readonly OutgoingFile[] {
    return this.#files;
  }

  /** The attachments still regular files in the workspace at the end of the run, with their sizes now. */
  async verified(workspaceDir: string): Promise<OutgoingFile[]> {
    const kept: OutgoingFile[] = [];
    for (const file of this.#files) {
      try {
        // lstat: a file swapped for a link since it was attached is not posted.
        const stats = await lstat(path.join(workspaceDir, ...file.path.split('/')));
        if (stats.isFile()) kept.push({ ...file, bytes: stats.size });
      } catch {
        // Deleted since: nothing to post.
      }
    }
    return kept;
  }

  /** "chart.png", then "chart-2.png", "chart-3.png" for other files of the same name. */
  #unique(name: string): string {
    const taken = new Set(this.#files.map((f) => f.name));
    if (!taken.has(name)) return name;
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let n = 2; ; n++) {
      const candidate = `${stem}-${n}${ext}`;
      if (!taken.has(candidate)) return candidate;
    }
  }
}
