import type { FileRecord, FolderRecord, Usage } from '../catalog/catalog.ts';
import type { ContentPage, StoreInfo } from '../store/image-store.ts';

/** Wire shapes of the ImageStore models: PascalCase, 64-bit numbers as strings, ISO UTC dates. */

export const isoDate = (ms: number) => new Date(ms).toISOString();

export function fileInfo(file: FileRecord) {
  return {
    StoreRelativePath: file.path,
    FileVersion: {
      EpochDataLossNumber: '0',
      VersionNumber: String(file.version),
      EpochConfigurationNumber: '0',
    },
    FileSize: String(file.size),
    ModifiedDate: isoDate(file.modified),
  };
}

export function folderInfo(folder: FolderRecord) {
  return { StoreRelativePath: folder.path, FileCount: String(folder.fileCount) };
}

/** Api-versions up to 3.0 get the unpaged shape, later ones carry `ContinuationToken`. */
export function imageStoreContent(page: ContentPage, paged: boolean) {
  const body: Record<string, unknown> = {
    StoreFiles: page.files.map(fileInfo),
    StoreFolders: page.folders.map(folderInfo),
  };
  if (paged) body.ContinuationToken = page.continuationToken;
  return body;
}

const usageInfo = (usage: Usage) => ({
  UsedSpace: String(usage.usedSpace),
  FileCount: String(usage.fileCount),
});

export function imageStoreInfo(info: StoreInfo) {
  return {
    DiskInfo: {
      Capacity: String(info.disk.capacity),
      AvailableSpace: String(info.disk.available),
    },
    UsedByMetadata: usageInfo(info.usage.metadata),
    UsedByStaging: usageInfo(info.usage.staging),
    UsedByCopy: usageInfo(info.usage.copy),
    UsedByRegister: usageInfo(info.usage.register),
  };
}
