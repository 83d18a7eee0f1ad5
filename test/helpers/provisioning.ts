import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { call, type Answer } from './http.ts';

/** Client-side steps of provisioning tests: sfctl-style upload, provision calls, store views. */

/**
 * Uploads a package the way `sfctl application upload` does: top-down, one folder at a time,
 * that folder's files in parallel with whole-file PUTs (api-version 6.1), then its empty `_.dir`.
 */
export async function uploadLikeSfctl(url: string, root: string, files: Map<string, Buffer>) {
  const folders = new Map<string, string[]>([['', []]]);
  for (const path of files.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (!folders.has(folder)) folders.set(folder, []);
    }
    folders.get(parts.slice(0, -1).join('/'))!.push(path);
  }
  const order = [...folders.keys()].sort((a, b) =>
    a === '' ? -1 : b === '' ? 1 : a.split('/').length - b.split('/').length || (a < b ? -1 : 1),
  );
  const put = async (path: string, body: Buffer) => {
    const answer = await call('PUT', `${url}/ImageStore/${root}/${path}?api-version=6.1`, body);
    if (answer.status !== 200) throw new Error(`upload of ${path} failed: ${answer.text}`);
  };
  for (const folder of order) {
    await Promise.all(folders.get(folder)!.map((path) => put(path, files.get(path)!)));
    await put(folder === '' ? '_.dir' : `${folder}/_.dir`, Buffer.alloc(0));
  }
}

/** Bytes and file count of every file below `path`, listed through the REST API. */
export async function storeTree(url: string, path: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const answer = await call('GET', `${url}/ImageStore/${path}?api-version=6.2`);
  if (answer.status === 404) return found;
  if (answer.status !== 200) throw new Error(`listing ${path} failed: ${answer.text}`);
  for (const file of answer.json.StoreFiles)
    found.set(file.StoreRelativePath, Number(file.FileSize));
  for (const folder of answer.json.StoreFolders) {
    for (const [p, size] of await storeTree(url, folder.StoreRelativePath.replaceAll('\\', '/'))) {
      found.set(p, size);
    }
  }
  return found;
}

export interface Usage {
  copy: { bytes: number; files: number };
  register: { bytes: number; files: number };
}

export async function usage(url: string): Promise<Usage> {
  const info = (await call('GET', `${url}/ImageStore/$/Info?api-version=6.5`)).json;
  const read = (u: { UsedSpace: string; FileCount: string }) => ({
    bytes: Number(u.UsedSpace),
    files: Number(u.FileCount),
  });
  return { copy: read(info.UsedByCopy), register: read(info.UsedByRegister) };
}

export function sum(
  files: Map<string, number>,
  paths?: Iterable<string>,
): { bytes: number; files: number } {
  let bytes = 0;
  let count = 0;
  for (const path of paths ?? files.keys()) {
    bytes += files.get(path)!;
    count++;
  }
  return { bytes, files: count };
}

export function provision(
  url: string,
  body: unknown,
  apiVersion = '6.2',
  extra = '',
): Promise<Answer> {
  return call(
    'POST',
    `${url}/ApplicationTypes/$/Provision?api-version=${apiVersion}${extra}`,
    JSON.stringify(body),
  );
}

export function provisionPath(url: string, buildPath: string, more: Record<string, unknown> = {}) {
  return provision(url, {
    Kind: 'ImageStorePath',
    ApplicationTypeBuildPath: buildPath,
    Async: false,
    ...more,
  });
}

export function unprovision(url: string, name: string, version: string, async = false) {
  return call(
    'POST',
    `${url}/ApplicationTypes/${encodeURIComponent(name)}/$/Unprovision?api-version=6.0`,
    JSON.stringify({ ApplicationTypeVersion: version, Async: async }),
  );
}

export async function listTypes(url: string, query = ''): Promise<any[]> {
  const answer = await call('GET', `${url}/ApplicationTypes?api-version=6.0${query}`);
  if (answer.status !== 200) throw new Error(`listing types failed: ${answer.text}`);
  return answer.json.Items;
}

/** Polls the type list until `done` holds for the version, or fails after `ms`. */
export async function waitForType(
  url: string,
  name: string,
  version: string,
  done: (item: any) => boolean,
  ms = 10_000,
): Promise<any> {
  const until = Date.now() + ms;
  for (;;) {
    const items = await listTypes(url);
    const item = items.find((i) => i.Name === name && i.Version === version);
    if (item && done(item)) return item;
    if (Date.now() > until)
      throw new Error(`${name} ${version} never settled: ${JSON.stringify(item)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** How many blob files the store root holds on disk. */
export async function blobFilesOnDisk(root: string): Promise<number> {
  let count = 0;
  for (const shard of await readdir(join(root, 'blobs'))) {
    count += (await readdir(join(root, 'blobs', shard))).length;
  }
  return count;
}
