/** Everything the server can be told, with the defaults `imagestore serve` uses. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Folder holding the catalog, the blobs and the staging files. */
  root: string;
  /** Highest api-version accepted; requests above it get 400 E_INVALIDARG. */
  maxApiVersion: number;
  /** Entries per page of a content listing before a ContinuationToken is returned. */
  listPageSize: number;
  logLevel: string;
  /** Free bytes on the store's volume that uploads may not use, so deletes always have room. */
  reserveBytes: number;
  /** Largest upload chunk accepted, in bytes; larger ones get 413. */
  maxChunkSize: number;
  /** Seconds without a new chunk after which an upload session is removed with its bytes. */
  sessionTimeoutSeconds: number;
  /**
   * Delete the uploaded package after a successful provision whose cleanup policy is `Default`
   * (the native CleanupApplicationPackageOnProvisionSuccess).
   */
  cleanupOnProvisionSuccess: boolean;
  /**
   * After each successful provision, keep only the N most recently registered versions of the
   * type and unprovision the older ones; 0 keeps every version.
   */
  keepVersions: number;
  /** Largest `.sfpkg` an ExternalStore provision downloads, and largest it unpacks to. */
  maxPackageDownloadBytes: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 19080,
  root: './data',
  maxApiVersion: 11.3,
  listPageSize: 5000,
  logLevel: 'info',
  reserveBytes: 64 * 1024 * 1024,
  maxChunkSize: 100 * 1024 * 1024,
  sessionTimeoutSeconds: 30 * 60,
  cleanupOnProvisionSuccess: true,
  keepVersions: 0,
  maxPackageDownloadBytes: 4 * 1024 ** 3,
};
