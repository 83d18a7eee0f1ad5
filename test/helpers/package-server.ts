import { createServer, type Server, type ServerResponse } from 'node:http';
import { zip, type ZipEntry } from './zip.ts';

/** An `.sfpkg`: the package's files zipped with the package folder as the archive root. */
export function sfpkg(files: Map<string, Buffer>, extra: ZipEntry[] = []) {
  return zip([...[...files].map(([name, data]) => ({ name, data })), ...extra]);
}

/** A loopback HTTP server standing in for the external store. */
export class PackageServer {
  readonly routes = new Map<string, Buffer>();
  /** Every path requested, in order. */
  readonly requested: string[] = [];
  /** Requests to `/stall/...` get half the body, then wait here until released. */
  readonly stalled: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start() {
    this.server = createServer((request, response) => {
      const path = request.url ?? '';
      this.requested.push(path);
      const body = this.routes.get(path.replace(/^\/stall/, ''));
      if (!body) return response.writeHead(404).end('not here');
      response.writeHead(200, { 'content-length': body.length });
      if (!path.startsWith('/stall/')) return response.end(body);
      response.write(body.subarray(0, body.length >> 1));
      this.stalled.push(response);
      (response as ServerResponse & { rest: Buffer }).rest = body.subarray(body.length >> 1);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${address.port}`;
  }

  /**
   * Sends the rest of every stalled body. Waits first for a stalled request to arrive: on a
   * loaded machine the server's download may reach us only after the test asks for release.
   */
  async release() {
    for (const until = Date.now() + 10_000; this.stalled.length === 0;) {
      if (Date.now() > until) throw new Error('no download reached the package server');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const response of this.stalled.splice(0)) {
      response.end((response as ServerResponse & { rest: Buffer }).rest);
    }
  }

  async stop() {
    for (const response of this.stalled.splice(0)) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export function external(uri: string, name: string, version: string, async = false) {
  return {
    Kind: 'ExternalStore',
    ApplicationPackageDownloadUri: uri,
    ApplicationTypeName: name,
    ApplicationTypeVersion: version,
    Async: async,
  };
}
