/**
 * Turns a response body into what the model reads: HTML as readable text, JSON pretty-printed,
 * other text as is, and binary as a one-line note (its bytes would only waste the context).
 */
import { compile } from 'html-to-text';
import { formatBytes } from '../builtin/files.js';

/** Links the model cannot follow, or that only run code, are dropped from the text. */
const USELESS_LINK = /^(?:javascript|data|vbscript):/i;

let currentPage = '';

/** Relative links resolved against the page, so the model can pass them straight to http_get. */
function rewriteLink(href: string): string {
  if (USELESS_LINK.test(href.trim())) return '';
  // html-to-text has already stripped "mailto:"; an address is worth keeping as is.
  if (/^[^/:?#@]+@[^/:?#@]+$/.test(href)) return href;
  try {
    return new URL(href, currentPage).href;
  } catch {
    return href;
  }
}

const toText = compile({
  wordwrap: false,
  // Deeply nested markup would otherwise overflow the stack while walking it.
  limits: { maxDepth: 200 },
  // The title first: it often says more about the page than its first lines do.
  baseElements: { selectors: ['head > title', 'body'], returnDomByDefault: true },
  selectors: [
    { selector: 'head > title', format: 'block', options: { trailingLineBreaks: 2 } },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, pathRewrite: rewriteLink } },
    { selector: 'img', format: 'skip' },
    { selector: 'svg', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    { selector: 'iframe', format: 'skip' },
    { selector: 'template', format: 'skip' },
    { selector: 'button', format: 'skip' },
    { selector: 'select', format: 'skip' },
    // Upper-cased headings read as shouting and lose proper nouns' case.
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: 'td', format: 'inlineSurround', options: { suffix: ' | ' } },
    { selector: 'th', format: 'inlineSurround', options: { suffix: ' | ' } },
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
  ],
});

/** HTML as plain text: no scripts, styles or images; links kept as "text [absolute url]". */
export function htmlToReadable(html: string, pageUrl: string): string {
  currentPage = pageUrl;
  try {
    // Table cells end in " | "; the last one in a row needs no separator.
    return toText(html).replace(/ \| *$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
  } finally {
    currentPage = '';
  }
}

/**
 * HTML beyond this is not converted: conversion runs on the main thread and grows faster than the
 * page (2 MB of nested tags took ~1 min, freezing the bot), while the model is shown 8,000
 * characters at most anyway. 256 KB converts in ~0.1 s.
 */
const MAX_HTML_CHARS = 256 * 1024;

function readableOrRaw(full: string, pageUrl: string): string {
  const cut = full.length > MAX_HTML_CHARS;
  const html = cut ? full.slice(0, MAX_HTML_CHARS) : full;
  const note = cut ? `\n\n[only the first ${MAX_HTML_CHARS / 1024} KB of the page's ${Math.round(full.length / 1024)} KB of HTML were read]` : '';
  try {
    return (htmlToReadable(html, pageUrl) || '(the page has no readable text)') + note;
  } catch (err) {
    // Pathological markup should not cost the model the page: tags stripped is still useful.
    const problem = err instanceof Error ? err.message : 'unknown error';
    return `(the HTML could not be converted: ${problem}; tags stripped)\n${html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim()}${note}`;
  }
}

type BodyKind = 'html' | 'json' | 'text' | 'binary';

const TEXT_TYPES = new Set([
  'application/javascript',
  'application/ecmascript',
  'application/x-javascript',
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/x-sh',
  'application/sql',
  'application/graphql',
]);

function kindOf(mime: string, body: Buffer): BodyKind {
  if (mime === 'text/html' || mime === 'application/xhtml+xml') return 'html';
  if (mime === 'application/json' || mime === 'text/json' || mime.endsWith('+json')) return 'json';
  if (mime.startsWith('text/') || mime.endsWith('+xml') || TEXT_TYPES.has(mime)) return 'text';
  if (mime !== '') return 'binary';
  // No declared type: sniff like git does (a NUL byte means binary).
  if (body.subarray(0, 8192).includes(0)) return 'binary';
  return /^\s*<(?:!doctype html|html)/i.test(body.subarray(0, 512).toString('latin1')) ? 'html' : 'text';
}

/** The declared charset, or for HTML a <meta charset> near the top; UTF-8 otherwise. */
function decode(body: Buffer, contentType: string, kind: BodyKind): string {
  let charset = /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1];
  if (charset === undefined && kind === 'html') charset = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(body.subarray(0, 2048).toString('latin1'))?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    // An unknown label: UTF-8 shows most real-world text acceptably.
    return new TextDecoder('utf-8').decode(body);
  }
}

export interface RenderedBody {
  text: string;
  kind: BodyKind;
}

/**
 * The body as the model should see it. `truncated` bodies are still rendered (HTML and text
 * survive a cut); a cut JSON body is shown raw, since it can no longer parse.
 */
export function renderBody(body: Buffer, contentType: string, pageUrl: string, truncated: boolean): RenderedBody {
  const mime = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const kind = kindOf(mime, body);
  if (kind === 'binary') {
    const size = truncated ? `at least ${formatBytes(body.length)}` : formatBytes(body.length);
    return { kind, text: `(binary body: ${mime === '' ? 'unknown type' : mime}, ${size}; not shown)` };
  }
  if (body.length === 0) return { kind, text: '(empty body)' };
  const text = decode(body, contentType, kind);
  if (kind === 'html') return { kind, text: readableOrRaw(text, pageUrl) };
  if (kind === 'json') {
    if (truncated) return { kind, text: `(the JSON was cut off, so it is shown raw)\n${text}` };
    try {
      return { kind, text: JSON.stringify(JSON.parse(text), null, 2) };
    } catch (err) {
      const problem = err instanceof Error ? err.message : 'parse error';
      return { kind, text: `(the body is not valid JSON: ${problem}; raw text follows)\n${text}` };
    }
  }
  return { kind, text };
}
