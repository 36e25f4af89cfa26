/**
 * File names from Discord are untrusted: they become paths in a run's workspace and words in
 * replies. A sanitised name is one path segment that every common filesystem accepts.
 */

/** Longest name, in characters and in UTF-8 bytes (ext4 and most others stop at 255 bytes). */
const MAX_NAME_CHARS = 100;
const MAX_NAME_BYTES = 200;
/** An "extension" longer than this is part of the name, not a type. */
const MAX_EXTENSION_CHARS = 16;

// Control characters, and the invisible direction marks that make "evil\u202Etxt.exe" read as "evilexe.txt".
const INVISIBLE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/gu;
// Characters Windows forbids in names (and / and \, which would make a path).
const FORBIDDEN = /[<>:"/\\|?*]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;

function splitExtension(name: string): { stem: string; extension: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name.length - dot > MAX_EXTENSION_CHARS + 1) return { stem: name, extension: '' };
  return { stem: name.slice(0, dot), extension: name.slice(dot) };
}

/** `stem + suffix + extension`, with the stem cut (by whole characters) until the whole fits. */
function fitName(stem: string, suffix: string, extension: string): string {
  // Cut to the character bound first, so that a huge name costs one pass, not one per character.
  const chars = Array.from(stem).slice(0, MAX_NAME_CHARS);
  const fits = (s: string) => Array.from(s).length <= MAX_NAME_CHARS && Buffer.byteLength(s, 'utf8') <= MAX_NAME_BYTES;
  while (chars.length > 0 && !fits(chars.join('') + suffix + extension)) chars.pop();
  const cutStem = chars.join('').replace(/[. ]+$/, '');
  return (cutStem === '' ? 'file' : cutStem) + suffix + extension;
}

/**
 * One safe path segment from an uploaded name: NFC, the last segment of any path, no control or
 * direction characters, no characters Windows forbids, no leading dots, not a Windows device
 * name, at most 100 characters / 200 bytes with the extension kept. Never empty.
 */
export function sanitiseFileName(raw: string): string {
  const lastSegment = raw.normalize('NFC').replace(INVISIBLE, '').split(/[/\\]/).pop() ?? '';
  let name = lastSegment
    .replace(FORBIDDEN, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  if (name === '') return 'file';
  const { stem, extension } = splitExtension(name);
  // Windows treats "CON.txt" and "con.tar.gz" as the console device, whatever follows the first dot.
  const device = stem.split('.')[0] ?? '';
  name = WINDOWS_RESERVED.test(device.trim()) ? `_${stem}` : stem;
  return fitName(name, '', extension.replace(/\s+$/, ''));
}

/**
 * `name`, or `name (2)`, `name (3)`… before the extension: the first not in `taken`
 * (compared without case, as on Windows and macOS). Adds the result to `taken`.
 */
export function uniqueFileName(name: string, taken: Set<string>): string {
  const { stem, extension } = splitExtension(name);
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n += 1) candidate = fitName(stem, ` (${n})`, extension);
  taken.add(candidate.toLowerCase());
  return candidate;
}
