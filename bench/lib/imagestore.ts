import { fileURLToPath } from 'node:url';
import { type Service, startService, urlFromJsonLog } from './service.ts';
import type { Workspace } from './workspace.ts';

export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/imagestore.js', import.meta.url));

/**
 * `imagestore serve` as its own process on a free loopback port, with its default settings
 * (log level included), exactly as `npm start` would run it.
 */
export function startImageStore(workspace: Workspace, name: string, root: string) {
  return startService(workspace, {
    name,
    command: process.execPath,
    args: [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--root', root],
    cwd: PROJECT_DIR,
    logFile: workspace.path(`${name}.log`),
    readyUrl: (log) => urlFromJsonLog(log, 'imagestore listening'),
  });
}

export async function getJson(service: Service, path: string): Promise<unknown> {
  const response = await fetch(service.url + path);
  const text = await response.text();
  if (!response.ok) throw new Error(`${service.name} GET ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}
