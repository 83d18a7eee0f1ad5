import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { startServer, type RunningServer } from '../../src/app.ts';
import type { ServerConfig } from '../../src/config.ts';

export async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'imagestore-test-'));
}

export interface TestServer extends RunningServer {
  root: string;
  /** Stops the server and deletes its root. */
  dispose(): Promise<void>;
}

/** A real server in this process on an ephemeral loopback port, with its own store root. */
export async function startTestServer(config: Partial<ServerConfig> = {}): Promise<TestServer> {
  const root = config.root ?? (await tempRoot());
  const server = await startServer({ port: 0, ...config, root }, pino({ level: 'silent' }));
  return {
    ...server,
    root,
    async dispose() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Stops the process with the given signal and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const BIN = new URL('../../bin/imagestore.js', import.meta.url).pathname;

/** `imagestore serve` as a separate process, for restart and kill -9 tests. */
export async function spawnServer(root: string, args: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--root', root, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'imagestore listening') resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  return {
    url,
    process: child,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
