/** Shared by the intake tests: fixtures, limits small enough to reach, and an AttachmentRef builder. */
import { readFileSync } from 'node:fs';
import { DEFAULT_FILE_LIMITS, type FileLimits } from '../../src/files/index.js';
import type { AttachmentRef } from '../../src/files/types.js';

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/files/${name}`, import.meta.url));
}

export function limits(overrides: Partial<FileLimits> = {}): FileLimits {
  return { ...DEFAULT_FILE_LIMITS, ...overrides };
}

/** An attachment as Discord describes it (`size` defaults to the real size). */
export function ref(name: string, url: string, size: number, contentType: string | null = null): AttachmentRef {
  return { name, url, size, contentType };
}
