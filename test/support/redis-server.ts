/**
 * A real redis-server (the Debian package, which .ci/run installs), started for a test on a free
 * loopback port in a temporary directory and stopped after: no mock of Redis anywhere. Options as
 * BullMQ's production guide asks (appendonly, `maxmemory-policy noeviction`); persistence stays in
 * the temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
/** Tries on another port when the one found free was taken before redis-server bound it. */
const PORT_ATTEMPTS = 5;

export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    try {
      const child = await launch(port, dir);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: async () => {
          await stopProcess(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTaken)) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

class PortTaken extends Error {}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--loglevel', 'notice'];
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    // Never left running when it does not come up: the test fails with what it printed.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 10_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (data: Buffer) => {
      output += data.toString();
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new Error('redis-server is not installed: the tests need the Debian package redis-server (apt-get install redis-server), which .ci/run installs.') : error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(/address already in use/i.test(output) ? new PortTaken(output) : new Error(`redis-server exited with ${String(code)}: ${output}`));
    });
  });
}


async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
