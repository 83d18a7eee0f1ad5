import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startServer } from '../src/app.ts';

/**
 * Time to provision an application package of FILES files / BYTES bytes (default 2,000 files,
 * 200 MB of random content) uploaded the way sfctl does, on the disk that holds the project
 * (`.bench/`, not a tmpfs). Also times a second version that shares every package, and the
 * unprovision of both. Standalone: `node --import tsx bench/provision.bench.ts`.
 */
const FILES = Number(process.env.BENCH_PROVISION_FILES ?? 2000);
const BYTES = Number(process.env.BENCH_PROVISION_BYTES ?? 200_000_000);
const SERVICES = 4;
const UPLOAD_CONCURRENCY = 16;

const PROVISION = '/ApplicationTypes/$/Provision?api-version=6.2&timeout=3600';
const since = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function manifests(version: string) {
  const ns = 'http://schemas.microsoft.com/2011/01/fabric';
  const services = Array.from({ length: SERVICES }, (_, i) => `Svc${i}Pkg`);
  const app = `<?xml version="1.0" encoding="utf-8"?>
<ApplicationManifest ApplicationTypeName="BenchType" ApplicationTypeVersion="${version}" xmlns="${ns}">
  <Parameters><Parameter Name="Instances" DefaultValue="1" /></Parameters>
${services.map((s) => `  <ServiceManifestImport><ServiceManifestRef ServiceManifestName="${s}" ServiceManifestVersion="1.0" /></ServiceManifestImport>`).join('\n')}
</ApplicationManifest>`;
  const service = (name: string) => `<?xml version="1.0" encoding="utf-8"?>
<ServiceManifest Name="${name}" Version="1.0" xmlns="${ns}">
  <ServiceTypes><StatelessServiceType ServiceTypeName="${name}Type" /></ServiceTypes>
  <CodePackage Name="Code" Version="1.0"><EntryPoint><ExeHost><Program>a.exe</Program></ExeHost></EntryPoint></CodePackage>
  <ConfigPackage Name="Config" Version="1.0" />
</ServiceManifest>`;
  return { app, services, service };
}

/** Paths (with `/`) and sizes: code files spread over services and sub-folders of 50. */
function layout() {
  const { services } = manifests('1');
  const codeFiles = FILES - 1 - SERVICES * 2;
  const size = Math.floor(BYTES / codeFiles);
  const files: { path: string; size: number }[] = [];
  for (let i = 0; i < codeFiles; i++) {
    const service = services[i % SERVICES];
    files.push({ path: `${service}/Code/lib${Math.floor(i / 50)}/file${i}.bin`, size });
  }
  for (const service of services) files.push({ path: `${service}/Config/Settings.xml`, size: 0 });
  return files;
}

async function put(url: string, path: string, body: Buffer) {
  const response = await fetch(`${url}/ImageStore/${path}?api-version=6.1&timeout=3600`, {
    method: 'PUT',
    body: body as BodyInit,
  });
  if (response.status !== 200) throw new Error(`PUT ${path}: ${response.status}`);
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Random content, made once so a second version can carry the very same packages. */
const content = new Map(layout().map((f) => [f.path, randomBytes(f.size)]));

/** sfctl order: files in parallel, then every folder's `_.dir`, deepest first. */
async function upload(url: string, root: string, version: string) {
  const m = manifests(version);
  const bodies = new Map(content);
  bodies.set('ApplicationManifest.xml', Buffer.from(m.app));
  for (const s of m.services) bodies.set(`${s}/ServiceManifest.xml`, Buffer.from(m.service(s)));
  const folders = new Set<string>(['']);
  for (const path of bodies.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  await inParallel([...bodies], UPLOAD_CONCURRENCY, ([p, b]) => put(url, `${root}/${p}`, b));
  const ordered = [...folders].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const folder of ordered) {
    await put(url, folder ? `${root}/${folder}/_.dir` : `${root}/_.dir`, Buffer.alloc(0));
  }
  return bodies.size;
}

async function post(url: string, path: string, body: unknown) {
  const started = process.hrtime.bigint();
  const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (response.status !== 200)
    throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return since(started);
}

async function registerUsage(url: string) {
  const info = await (await fetch(`${url}/ImageStore/$/Info?api-version=6.5`)).json();
  return `${info.UsedByRegister.FileCount} files / ${mb(Number(info.UsedByRegister.UsedSpace))} MB`;
}

const workspace = join(process.cwd(), '.bench', `provision-${process.pid}`);
await mkdir(workspace, { recursive: true });
const server = await startServer({ port: 0, root: workspace }, pino({ level: 'warn' }));
try {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
      `node ${process.version}; store on ${workspace}`,
  );
  let started = process.hrtime.bigint();
  const count = await upload(server.url, 'BenchV1', '1.0');
  console.log(
    `upload v1 (sfctl order, ${UPLOAD_CONCURRENCY} parallel PUTs): ${count} files in ${since(started).toFixed(1)} s`,
  );

  const provision = (root: string) => ({
    Kind: 'ImageStorePath',
    ApplicationTypeBuildPath: root,
    ApplicationPackageCleanupPolicy: 'Automatic',
    Async: false,
  });
  const v1 = await post(server.url, PROVISION, provision('BenchV1'));
  console.log(
    `provision v1 (${FILES} files, ${mb(BYTES)} MB, build path deleted after): ${v1.toFixed(2)} s = ${(BYTES / 1e6 / v1).toFixed(0)} MB/s; register ${await registerUsage(server.url)}`,
  );

  started = process.hrtime.bigint();
  await upload(server.url, 'BenchV2', '2.0');
  console.log(
    `upload v2 (same packages, new application manifest): ${since(started).toFixed(1)} s`,
  );
  const v2 = await post(server.url, PROVISION, provision('BenchV2'));
  console.log(
    `provision v2 (every package shared: checksums only): ${v2.toFixed(2)} s; ` +
      `register ${await registerUsage(server.url)}`,
  );

  const unprovision = (version: string) =>
    post(server.url, '/ApplicationTypes/BenchType/$/Unprovision?api-version=6.0', {
      ApplicationTypeVersion: version,
    });
  const u1 = await unprovision('1.0');
  const u2 = await unprovision('2.0');
  console.log(
    `unprovision v1 (frees its manifest only): ${u1.toFixed(3)} s; ` +
      `v2 (the last: frees everything): ${u2.toFixed(3)} s; register ${await registerUsage(server.url)}`,
  );
} catch (error) {
  console.error(String(error));
  process.exitCode = 1;
} finally {
  await server.close();
  await rm(workspace, { recursive: true, force: true });
}
