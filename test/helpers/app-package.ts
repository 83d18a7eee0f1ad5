import { zip } from './zip.ts';

/** Builds realistic Service Fabric application packages for provisioning tests. */

export interface PackageSpec {
  kind: 'Code' | 'Config' | 'Data';
  name: string;
  version: string;
  files: Record<string, string>;
  /** Shipped as `<name>.zip` instead of a folder, like `sfctl application upload --compress`. */
  compressed?: boolean;
}

export interface ServiceSpec {
  name: string;
  version: string;
  serviceType: string;
  stateful: boolean;
  packages: PackageSpec[];
}

export interface AppSpec {
  typeName: string;
  version: string;
  parameters: Record<string, string>;
  services: ServiceSpec[];
}

const NS = 'http://schemas.microsoft.com/2011/01/fabric';

export function applicationManifestXml(app: AppSpec): string {
  const parameters = Object.entries(app.parameters)
    .map(([name, value]) => `    <Parameter Name="${name}" DefaultValue="${value}" />`)
    .join('\n');
  const imports = app.services
    .map(
      (s) => `  <ServiceManifestImport>
    <ServiceManifestRef ServiceManifestName="${s.name}" ServiceManifestVersion="${s.version}" />
    <ConfigOverrides />
  </ServiceManifestImport>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<ApplicationManifest xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ApplicationTypeName="${app.typeName}" ApplicationTypeVersion="${app.version}" xmlns="${NS}">
  <Parameters>
${parameters}
  </Parameters>
${imports}
  <DefaultServices />
</ApplicationManifest>
`;
}

export function serviceManifestXml(service: ServiceSpec): string {
  const type = service.stateful
    ? `<StatefulServiceType ServiceTypeName="${service.serviceType}" HasPersistedState="true" />`
    : `<StatelessServiceType ServiceTypeName="${service.serviceType}" />`;
  const packages = service.packages
    .map((p) =>
      p.kind === 'Code'
        ? `  <CodePackage Name="${p.name}" Version="${p.version}">
    <EntryPoint><ExeHost><Program>${Object.keys(p.files)[0]}</Program></ExeHost></EntryPoint>
  </CodePackage>`
        : `  <${p.kind}Package Name="${p.name}" Version="${p.version}" />`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<ServiceManifest Name="${service.name}" Version="${service.version}" xmlns="${NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ServiceTypes>
    ${type}
  </ServiceTypes>
${packages}
</ServiceManifest>
`;
}

/** Every file of the package, by `/`-separated path below the package root. */
export function packageFiles(app: AppSpec): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set('ApplicationManifest.xml', Buffer.from(applicationManifestXml(app)));
  for (const service of app.services) {
    files.set(`${service.name}/ServiceManifest.xml`, Buffer.from(serviceManifestXml(service)));
    for (const p of service.packages) {
      const entries = Object.entries(p.files).map(([name, text]) => ({
        name,
        data: Buffer.from(text),
      }));
      if (p.compressed) {
        files.set(`${service.name}/${p.name}.zip`, zip(entries));
      } else {
        for (const entry of entries)
          files.set(`${service.name}/${p.name}/${entry.name}`, entry.data);
      }
    }
  }
  return files;
}

/**
 * The voting sample. Every version after 1.0.0 changes only the web front end's code (to
 * WebPkg 2.0.0): its Config and Data packages and the whole BackendPkg service stay the same.
 */
export function votingApp(version: string, typeName = 'VotingType'): AppSpec {
  const webVersion = version === '1.0.0' ? '1.0.0' : '2.0.0';
  return {
    typeName,
    version,
    parameters: { WebInstanceCount: '-1', BackendPartitionCount: '3' },
    services: [
      {
        name: 'WebPkg',
        version: webVersion,
        serviceType: 'WebType',
        stateful: false,
        packages: [
          {
            kind: 'Code',
            name: 'Code',
            version: webVersion,
            files: {
              'web.exe': `web front end build ${webVersion} `.repeat(40),
              'lib/helper.dll': `helper library for ${webVersion}`,
              'wwwroot/index.html': `<html>voting ${webVersion}</html>`,
            },
          },
          {
            kind: 'Config',
            name: 'Config',
            version: '1.0.0',
            files: { 'Settings.xml': '<Settings><Section Name="Web" /></Settings>' },
          },
          {
            kind: 'Data',
            name: 'Data',
            version: '1.0.0',
            files: { 'seed.json': '{"candidates":["cats","dogs"]}' },
          },
        ],
      },
      {
        name: 'BackendPkg',
        version: '1.0.0',
        serviceType: 'BackendType',
        stateful: true,
        packages: [
          {
            kind: 'Code',
            name: 'Code',
            version: '1.0.0',
            compressed: true,
            files: { 'backend.exe': 'backend binary '.repeat(100), 'runtime/core.dll': 'core' },
          },
          {
            kind: 'Config',
            name: 'Config',
            version: '1.0.0',
            compressed: true,
            files: { 'Settings.xml': '<Settings><Section Name="Backend" /></Settings>' },
          },
        ],
      },
    ],
  };
}

/** A small one-service package, for tests that only need some type to exist. */
export function tinyApp(typeName: string, version: string): AppSpec {
  return {
    typeName,
    version,
    parameters: { Count: version },
    services: [
      {
        name: 'SvcPkg',
        version,
        serviceType: `${typeName}Svc`,
        stateful: false,
        packages: [{ kind: 'Code', name: 'Code', version, files: { 'svc.exe': `svc ${version}` } }],
      },
    ],
  };
}
