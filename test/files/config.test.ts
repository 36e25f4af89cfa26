/** The files section of the configuration: defaults, bounds, and the extra CDN origins. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../config-problems.js';

const problems = configProblems;

describe('files config', () => {
  it("defaults to Discord's CDN, 3 files of 10 MB, 25 MB a message", () => {
    const { files } = loadConfig({});
    expect(files.cdnOrigins).toEqual(['https://cdn.discordapp.com', 'https://media.discordapp.net']);
    expect(files.limits).toEqual({
      maxFiles: 3,
      maxFileBytes: 10 * 1024 * 1024,
      maxTotalBytes: 25 * 1024 * 1024,
      downloadTimeoutMs: 30_000,
      extractTimeoutMs: 20_000,
      maxExtractedChars: 200_000,
      maxPdfPages: 100,
    });
  });

  it('adds the origins of DISCORD_CDN_URL, normalised', () => {
    const { files } = loadConfig({ DISCORD_CDN_URL: 'http://127.0.0.1:8080, https://Proxy.Example.com/', CAIRN_FILE_MAX_MB: '25' });
    expect(files.cdnOrigins).toEqual(['https://cdn.discordapp.com', 'https://media.discordapp.net', 'http://127.0.0.1:8080', 'https://proxy.example.com']);
    expect(files.limits.maxFileBytes).toBe(25 * 1024 * 1024);
  });

  it('names each bad value', () => {
    expect(problems({ DISCORD_CDN_URL: 'https://cdn.example.com/attachments', CAIRN_FILE_MAX_MB: '0', CAIRN_FILES_MAX_COUNT: '11' })).toEqual([
      'CAIRN_FILES_MAX_COUNT: must be at most 10 (got "11")',
      'CAIRN_FILE_MAX_MB: must be at least 1 (got "0")',
      'DISCORD_CDN_URL: "https://cdn.example.com/attachments" must be an origin only (scheme, host and port, no path, query or fragment) (got "https://cdn.example.com/attachments")',
    ]);
    expect(problems({ DISCORD_CDN_URL: 'ftp://files.example.com' })).toEqual([
      'DISCORD_CDN_URL: "ftp://files.example.com" must be an http:// or https:// origin (got "ftp://files.example.com")',
    ]);
  });
});
