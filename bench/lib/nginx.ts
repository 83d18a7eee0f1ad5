import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type Service, startService } from './service.ts';
import type { Workspace } from './workspace.ts';

export const NGINX = '/usr/sbin/nginx';

export function nginxInstalled(): boolean {
  return existsSync(NGINX);
}

export interface NginxDav extends Service {
  /** Folder the PUT files land in. */
  wwwDir: string;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Debian's nginx as a WebDAV PUT peer: one worker, in the foreground, everything (config, pid,
 * logs, request-body temp files, the uploaded files) inside the workspace, on a loopback port.
 * Bodies land in a temp file on the same file system and are renamed into place, as imagestore
 * does, but nginx does not fsync them.
 */
export async function startNginxDav(workspace: Workspace): Promise<NginxDav> {
  const dir = workspace.path('nginx');
  const wwwDir = `${dir}/www`;
  await mkdir(`${dir}/body`, { recursive: true });
  await mkdir(wwwDir, { recursive: true });
  const port = await freePort();
  // As root, nginx's workers would otherwise drop to `nobody`, who cannot write the workspace.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const config = `${user}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/body;
  uwsgi_temp_path ${dir}/body;
  scgi_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port};
    root ${wwwDir};
    location / {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
    }
  }
}
`;
  await writeFile(`${dir}/nginx.conf`, config);
  const url = `http://127.0.0.1:${port}`;
  const service = await startService(workspace, {
    name: 'nginx',
    command: NGINX,
    args: ['-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`],
    logFile: `${dir}/stdout.log`,
    readyUrl: async () => ((await listening(port)) ? url : undefined),
  });
  await sleep(100);
  return { ...service, wwwDir };
}
