import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'imagestore.pid';

/**
 * One process at a time owns a store root. The lock file holds the owner's pid; a lock whose
 * process is gone (a crash, kill -9) is taken over.
 */
export async function acquireRootLock(root: string): Promise<() => Promise<void>> {
  await mkdir(root, { recursive: true });
  const file = join(root, LOCK_FILE);
  const owner = await lockOwner(root);
  if (owner !== undefined && owner !== process.pid) {
    throw new Error(`The store root ${root} is in use by process ${owner}`);
  }
  if (owner === undefined) {
    await unlink(file).catch(() => undefined);
    await writeFile(file, String(process.pid), { flag: 'wx' }).catch((error) => {
      if (error.code === 'EEXIST')
        throw new Error(`The store root ${root} was just taken by another process`);
      throw error;
    });
  }
  return async () => {
    if ((await lockOwner(root)) === process.pid) await unlink(file).catch(() => undefined);
  };
}

/** The pid of a live imagestore process that holds the root, if any. */
export async function lockOwner(root: string): Promise<number | undefined> {
  const text = await readFile(join(root, LOCK_FILE), 'utf8').catch(() => undefined);
  const pid = Number(text);
  if (!text || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  if (pid === process.pid) return pid;
  return (await isImageStoreProcess(pid)) ? pid : undefined;
}

/**
 * After a crash or a reboot the pid in the lock file may have been reused by an unrelated
 * process. On Linux its command line tells: the lock is held only by a process that runs
 * imagestore (or the same program as this one). Elsewhere any live process holds it.
 */
async function isImageStoreProcess(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch (error) {
    // Gone since the liveness check, or hidden from us: only the latter may still be an owner.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  const entry = process.argv[1];
  return /imagestore/i.test(cmdline) || (entry !== undefined && cmdline.includes(entry));
}
