/**
 * A process whose shared schedule clock takes firings and never finishes one, for the test of a
 * worker dying mid-firing. argv: redis url, key prefix, lock ms. Prints "fired <key>" per firing.
 */
import { silentLogger } from '../../src/log.js';
import { QueueScheduleClock } from '../../src/queue/schedule-clock.js';

const [url, prefix, lockText] = process.argv.slice(2);
if (url === undefined || prefix === undefined) throw new Error('usage: hanging-firer <redis url> <prefix> <lock ms>');
const clock = new QueueScheduleClock(url, { fires: true, concurrency: 1, lockMs: Number(lockText ?? '1000'), prefix }, silentLogger());
await clock.start([], (_id, firing) => {
  process.stdout.write(`fired ${firing.key ?? ''}\n`);
  return new Promise<void>(() => undefined);
});
process.stdout.write('ready\n');
