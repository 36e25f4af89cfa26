import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger } from 'pino';

/** Field names whose values are never written, wherever they appear in a log object. */
const REDACTED_KEYS = ['apiKey', 'token', 'authorization', 'password', 'secret', 'cookie'];
const REDACT_PATHS = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  level: string;
  /** Human-readable output (default: when stderr is a terminal). */
  pretty?: boolean;
  /** Secret values (API keys, bot token) scrubbed from every line, whatever field they hide in. */
  secrets?: readonly (string | undefined)[];
  /** Where lines go (default: stderr, so stdout stays free for command output such as --json). */
  destination?: DestinationStream;
}

/**
 * Wraps a stream so that no secret value survives in a written line: key-based redaction
 * cannot catch a token pasted into an error message or URL, a scan of the final line can.
 */
export function scrubbingStream(target: DestinationStream, secrets: readonly string[]): DestinationStream {
  if (secrets.length === 0) return target;
  return {
    write(line: string) {
      let clean = line;
      for (const secret of secrets) clean = clean.replaceAll(secret, '[REDACTED]');
      target.write(clean);
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  // Short values would scrub ordinary words; real keys and tokens are far longer than 8 characters.
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 8);
  const usePretty = options.pretty ?? process.stderr.isTTY;
  const target: DestinationStream =
    options.destination ??
    (usePretty
      ? PinoPretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' })
      : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    scrubbingStream(target, secrets),
  );
}

/** A logger that writes nothing, for library use and tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
