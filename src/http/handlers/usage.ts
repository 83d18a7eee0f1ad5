import { imageStoreInfo } from '../json-model.ts';
import { type Operation, type OperationContext, sendJson } from '../operation.ts';

async function folderSize({ store, path, reply }: OperationContext) {
  // The stored casing, whatever casing the request used, like a listing shows it.
  const stored = await store.folderSize(path);
  return sendJson(reply, { StoreRelativePath: stored.path, FolderSize: String(stored.size) });
}

async function info({ store, reply }: OperationContext) {
  return sendJson(reply, imageStoreInfo(await store.info()));
}

export const usageOperations: Operation[] = [
  {
    name: 'GetImageStoreFolderSize',
    method: 'GET',
    fn: 'FolderSize',
    minApiVersion: 6.5,
    path: 'optional',
    handle: folderSize,
  },
  {
    name: 'GetImageStoreInfo',
    method: 'GET',
    fn: 'Info',
    minApiVersion: 6.5,
    path: 'none',
    handle: info,
  },
];
