import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Workspace } from './workspace.ts';

export interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  /** Where the process's stdout and stderr go: a file, so a busy log costs no pipe reader. */
  logFile: string;
  /** Finds the listening URL in the process's log so far, or undefined while still starting. */
  readyUrl(log: string): Promise<string | undefined> | string | undefined;
  cwd?: string;
}

/** Starts a process in the workspace and waits until it listens; the workspace stops it. */
export async function startService(workspace: Workspace, spec: ServiceSpec): Promise<Service> {
  const out = openSync(spec.logFile, 'w');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const service: Service = {
    name: spec.name,
    url: '',
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(10_000, false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  workspace.defer(() => service.stop());

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(spec.logFile, 'utf8');
      throw new Error(`${spec.name} exited before listening:\n${log.slice(-2000)}`);
    }
    const url = await spec.readyUrl(await readFile(spec.logFile, 'utf8'));
    if (url) {
      service.url = url;
      return service;
    }
    await sleep(50);
  }
  throw new Error(`${spec.name} did not start listening within 60 s`);
}

/** The `url` of the first JSON log line whose `msg` is `message`. */
export function urlFromJsonLog(log: string, message: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes(message)) continue;
    try {
      const entry = JSON.parse(line);
      if (entry.msg === message && typeof entry.url === 'string') return entry.url;
    } catch {
      // a line still being written
    }
  }
  return undefined;
}

/** A loopback port that was free a moment ago, for peers that cannot be told to pick one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port was assigned');
  return address.port;
}
