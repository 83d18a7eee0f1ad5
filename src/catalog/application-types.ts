import type { FileMutation, MutationResult } from './catalog.ts';

/**
 * Where registered application types live. A version's rows and the store files it registers
 * change in one transaction with the usage counters, so a version is either fully registered
 * (`Available`) or has no files at all. Implemented next to each Catalog implementation, on the
 * same database.
 */

export type ApplicationTypeStatus = 'Provisioning' | 'Available' | 'Unprovisioning' | 'Failed';

export interface ApplicationParameter {
  key: string;
  value: string;
}

export interface ServiceTypeRecord {
  serviceTypeName: string;
  kind: 'Stateful' | 'Stateless';
  isServiceGroup: boolean;
  hasPersistedState: boolean;
  useImplicitHost: boolean;
  placementConstraints: string;
}

export interface ServiceManifestRecord {
  name: string;
  version: string;
  manifest: string;
  serviceTypes: ServiceTypeRecord[];
}

export interface ApplicationTypeRecord {
  name: string;
  version: string;
  status: ApplicationTypeStatus;
  statusDetails: string;
  /** Order in which versions finished registering (1, 2, ...); 0 until `Available`. */
  sequence: number;
  defaultParameters: ApplicationParameter[];
  applicationManifest: string;
  serviceManifests: ServiceManifestRecord[];
}

/**
 * A piece of the store layout registered as a whole: the application manifest, a service
 * manifest, or a code/config/data package (folder or `.zip`), with its checksum file. Versions of
 * a type share a unit when its name, version and checksum match.
 */
export interface RegisteredUnit {
  /** Identity within the store: the lower-cased store key of the manifest or package. */
  key: string;
  checksum: string;
  /** Store keys (files or folders) that go when no version uses the unit any more. */
  paths: string[];
}

export interface UnitUse {
  checksum: string;
  /** Store keys the unit occupies, as registered. */
  paths: string[];
  versions: string[];
}

export interface Registration {
  name: string;
  version: string;
  defaultParameters: ApplicationParameter[];
  applicationManifest: string;
  serviceManifests: ServiceManifestRecord[];
  /** Every unit the version uses, shared ones included. */
  units: RegisteredUnit[];
}

export interface ApplicationTypeQuery {
  name?: string;
  version?: string;
  /** Resume strictly after this (name, version), in name then version order. */
  after?: { name: string; version: string };
  limit: number;
}

export interface ApplicationTypeCatalog {
  get(name: string, version: string): Promise<ApplicationTypeRecord | undefined>;
  list(query: ApplicationTypeQuery): Promise<ApplicationTypeRecord[]>;
  /** Units registered by any version of a type, by unit key. */
  registeredUnits(name: string): Promise<Map<string, UnitUse>>;

  /**
   * Inserts a `Provisioning` row, replacing a `Failed` one. Returns the row that prevents it
   * instead: the same version in any other status, or a type whose name differs only in case.
   */
  claimProvision(name: string, version: string): Promise<ApplicationTypeRecord | undefined>;
  /** Files, units and the row turning `Available`, in one transaction. */
  register(registration: Registration, files: FileMutation): Promise<MutationResult>;
  failProvision(name: string, version: string, details: string): Promise<void>;
  /** Drops a `Provisioning` row whose provision failed synchronously. */
  abandonProvision(name: string, version: string): Promise<void>;

  /**
   * Marks an `Available` or `Failed` version `Unprovisioning`. Returns the row as it was before,
   * or undefined when the version is unknown; other statuses are left unchanged.
   */
  beginUnprovision(name: string, version: string): Promise<ApplicationTypeRecord | undefined>;
  /**
   * Removes the version's row and, in the same transaction, the units no other version uses;
   * the type folder goes with the last version that holds units.
   */
  unregister(name: string, version: string, typeFolderKey: string): Promise<MutationResult>;

  /** Rows left `Provisioning` or `Unprovisioning` by a previous run. */
  interrupted(): Promise<ApplicationTypeRecord[]>;
}
