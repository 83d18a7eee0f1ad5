import type {
  ApplicationTypeRecord,
  ApplicationTypeStatus,
  ServiceManifestRecord,
  ServiceTypeRecord,
} from '../catalog/application-types.ts';

/** Wire shapes of ApplicationTypeInfo and ServiceTypeInfo. */

/** Api-versions below 3.0 carry enums as their numbers. */
const STATUS_NUMBERS: Record<ApplicationTypeStatus, number> = {
  Provisioning: 1,
  Available: 2,
  Unprovisioning: 3,
  Failed: 4,
};
const SERVICE_FABRIC_APPLICATION_PACKAGE = 1;

export interface TypeInfoOptions {
  excludeParameters: boolean;
  enumsAsNumbers: boolean;
}

export function applicationTypeInfo(row: ApplicationTypeRecord, options: TypeInfoOptions) {
  return {
    Name: row.name,
    Version: row.version,
    DefaultParameterList: options.excludeParameters
      ? []
      : row.defaultParameters.map((p) => ({ Key: p.key, Value: p.value })),
    Status: options.enumsAsNumbers ? STATUS_NUMBERS[row.status] : row.status,
    StatusDetails: row.statusDetails,
    ApplicationTypeDefinitionKind: options.enumsAsNumbers
      ? SERVICE_FABRIC_APPLICATION_PACKAGE
      : 'ServiceFabricApplicationPackage',
  };
}

function serviceTypeDescription(type: ServiceTypeRecord) {
  const common = {
    Kind: type.kind,
    IsStateful: type.kind === 'Stateful',
    ServiceTypeName: type.serviceTypeName,
    PlacementConstraints: type.placementConstraints,
    LoadMetrics: [],
    ServicePlacementPolicies: [],
    Extensions: [],
  };
  return type.kind === 'Stateful'
    ? { ...common, HasPersistedState: type.hasPersistedState }
    : { ...common, UseImplicitHost: type.useImplicitHost };
}

export function serviceTypeInfos(manifests: ServiceManifestRecord[]) {
  return manifests.flatMap((manifest) =>
    manifest.serviceTypes.map((type) => ({
      ServiceTypeDescription: serviceTypeDescription(type),
      ServiceManifestName: manifest.name,
      ServiceManifestVersion: manifest.version,
      IsServiceGroup: type.isServiceGroup,
    })),
  );
}
