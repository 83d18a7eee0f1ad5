import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ApplicationParameter, ServiceTypeRecord } from '../catalog/application-types.ts';
import { errors } from '../errors.ts';

/** The parts of the application and service manifests that provisioning needs. */

export interface ServiceManifestImport {
  serviceManifestName: string;
  serviceManifestVersion: string;
}

export interface ApplicationManifest {
  name: string;
  version: string;
  parameters: ApplicationParameter[];
  imports: ServiceManifestImport[];
}

export type PackageKind = 'Code' | 'Config' | 'Data';

export interface PackageReference {
  kind: PackageKind;
  name: string;
  version: string;
}

export interface ServiceManifest {
  name: string;
  version: string;
  serviceTypes: ServiceTypeRecord[];
  packages: PackageReference[];
}

/** Manifests are small; a bigger file is not a manifest. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

type Element = Record<string, unknown> & { '@'?: Record<string, string> };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  // References are decoded below in one pass, so `&amp;#65;` stays the text `&#65;`.
  processEntities: false,
});

const invalid = (file: string, what: string) => errors.imageBuilderValidation(`'${file}' ${what}`);

/** Manifests are UTF-8 or, from older tools, UTF-16 with a byte order mark. */
export function decodeManifest(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    return swapped.swap16().toString('utf16le');
  }
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

function parseRoot(text: string, file: string, rootName: string): Element {
  if (/<!DOCTYPE/i.test(text)) {
    throw invalid(file, 'declares a DOCTYPE, which manifests may not use');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    const at = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw invalid(file, `is not well-formed XML at ${at}: ${msg}`);
  }
  const document = decodeTree(parser.parse(text), file) as Record<string, unknown>;
  const roots = Object.keys(document).filter((key) => key !== '?xml' && key !== '#text');
  if (roots.length !== 1 || roots[0] !== rootName || children(document, rootName).length !== 1) {
    throw invalid(file, `must have exactly one root element <${rootName}>, found <${roots[0]}>`);
  }
  return children(document, rootName)[0];
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five named entities and character references (`&#65;`, `&#x1F600;`). */
function decodeReferences(text: string, file: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') {
      if (NAMED[ref] === undefined) throw invalid(file, `uses the undefined entity '${whole}'`);
      return NAMED[ref];
    }
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed)
      throw invalid(file, `has the character reference '${whole}', not an XML character`);
    return String.fromCodePoint(code);
  });
}

/** Decodes references in every attribute value and text of a parsed document, in place. */
function decodeTree(node: unknown, file: string): unknown {
  if (typeof node === 'string') return decodeReferences(node, file);
  if (Array.isArray(node)) return node.map((child) => decodeTree(child, file));
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = decodeTree(record[key], file);
  }
  return node;
}

function children(parent: Record<string, unknown>, name: string): Element[] {
  const value = parent[name];
  if (!Array.isArray(value)) return [];
  return value.map((child) => (typeof child === 'object' && child !== null ? child : {}));
}

function elementText(parent: Record<string, unknown>, name: string): string {
  const value = parent[name];
  if (!Array.isArray(value) || value.length === 0) return '';
  const first = value[0];
  if (typeof first === 'string') return first;
  const inner = (first as Record<string, unknown>)['#text'];
  return typeof inner === 'string' ? inner : '';
}

function attribute(element: Element, name: string, file: string, where: string): string {
  const value = element['@']?.[name];
  if (value === undefined || value.trim() === '') {
    throw invalid(file, `has no ${name} attribute on ${where}`);
  }
  return value;
}

/**
 * Names and versions become file and folder names in the store, so they must be plain names:
 * no separators, no `..`, nothing a file system would refuse.
 */
export function checkPathName(value: string, file: string, what: string): string {
  if (
    /[\\/:*?"<>|\u0000-\u001f]/.test(value) ||
    value.trim() === '.' ||
    value.trim() === '..' ||
    value !== value.trim()
  ) {
    throw invalid(file, `has ${what} '${value}', which is not usable as a store file name`);
  }
  return value;
}

export function parseApplicationManifest(text: string, file: string): ApplicationManifest {
  const root = parseRoot(text, file, 'ApplicationManifest');
  const where = '<ApplicationManifest>';
  const name = checkPathName(
    attribute(root, 'ApplicationTypeName', file, where),
    file,
    'ApplicationTypeName',
  );
  const version = checkPathName(
    attribute(root, 'ApplicationTypeVersion', file, where),
    file,
    'ApplicationTypeVersion',
  );
  const parameters = children(root, 'Parameters')
    .flatMap((group) => children(group, 'Parameter'))
    .map((parameter) => ({
      key: attribute(parameter, 'Name', file, '<Parameter>'),
      value: parameter['@']?.DefaultValue ?? '',
    }));
  const imports = children(root, 'ServiceManifestImport').map((entry) => {
    const refs = children(entry, 'ServiceManifestRef');
    if (refs.length !== 1) {
      throw invalid(file, 'has a <ServiceManifestImport> without exactly one <ServiceManifestRef>');
    }
    const ref = refs[0];
    const refWhere = '<ServiceManifestRef>';
    return {
      serviceManifestName: checkPathName(
        attribute(ref, 'ServiceManifestName', file, refWhere),
        file,
        'ServiceManifestName',
      ),
      serviceManifestVersion: checkPathName(
        attribute(ref, 'ServiceManifestVersion', file, refWhere),
        file,
        'ServiceManifestVersion',
      ),
    };
  });
  if (imports.length === 0) throw invalid(file, 'imports no service manifest');
  const seen = new Set<string>();
  for (const { serviceManifestName } of imports) {
    if (seen.has(serviceManifestName.toLowerCase())) {
      throw invalid(file, `imports ServiceManifest '${serviceManifestName}' more than once`);
    }
    seen.add(serviceManifestName.toLowerCase());
  }
  return { name, version, parameters, imports };
}

const SERVICE_TYPE_ELEMENTS = [
  ['StatefulServiceType', 'Stateful', false],
  ['StatelessServiceType', 'Stateless', false],
  ['StatefulServiceGroupType', 'Stateful', true],
  ['StatelessServiceGroupType', 'Stateless', true],
] as const;

export function parseServiceManifest(text: string, file: string): ServiceManifest {
  const root = parseRoot(text, file, 'ServiceManifest');
  const name = checkPathName(attribute(root, 'Name', file, '<ServiceManifest>'), file, 'Name');
  const version = checkPathName(
    attribute(root, 'Version', file, '<ServiceManifest>'),
    file,
    'Version',
  );
  const serviceTypes: ServiceTypeRecord[] = [];
  for (const group of children(root, 'ServiceTypes')) {
    for (const [element, kind, isServiceGroup] of SERVICE_TYPE_ELEMENTS) {
      for (const type of children(group, element)) {
        serviceTypes.push({
          serviceTypeName: attribute(type, 'ServiceTypeName', file, `<${element}>`),
          kind,
          isServiceGroup,
          hasPersistedState: type['@']?.HasPersistedState?.toLowerCase() === 'true',
          useImplicitHost: type['@']?.UseImplicitHost?.toLowerCase() === 'true',
          placementConstraints: elementText(type, 'PlacementConstraints'),
        });
      }
    }
  }
  const packages: PackageReference[] = [];
  for (const kind of ['Code', 'Config', 'Data'] as const) {
    for (const element of children(root, `${kind}Package`)) {
      const where = `<${kind}Package>`;
      packages.push({
        kind,
        name: checkPathName(attribute(element, 'Name', file, where), file, `${kind}Package Name`),
        version: checkPathName(
          attribute(element, 'Version', file, where),
          file,
          `${kind}Package Version`,
        ),
      });
    }
  }
  if (!packages.some((p) => p.kind === 'Code')) throw invalid(file, 'declares no <CodePackage>');
  const seen = new Set<string>();
  for (const p of packages) {
    if (seen.has(p.name.toLowerCase())) {
      throw invalid(file, `declares the package name '${p.name}' more than once`);
    }
    seen.add(p.name.toLowerCase());
  }
  return { name, version, serviceTypes, packages };
}
