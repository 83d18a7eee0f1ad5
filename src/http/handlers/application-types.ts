import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { ApplicationTypeRecord } from '../../catalog/application-types.ts';
import { errors } from '../../errors.ts';
import type { CleanupPolicy, Provisioner, ProvisionRequest } from '../../provision/provisioner.ts';
import { applicationTypeInfo, serviceTypeInfos } from '../application-type-model.ts';
import { booleanProperty, readJsonBody, requireObject, stringProperty } from '../json-body.ts';
import { sendJson } from '../operation.ts';

export interface TypeOperationContext {
  request: FastifyRequest;
  reply: FastifyReply;
  provisioner: Provisioner;
  log: FastifyBaseLogger;
  /** `{applicationTypeName}`, percent-decoded; undefined for the collection operations. */
  typeName?: string;
  query: Map<string, string>;
  /** ContinuationToken read raw: clients send it unencoded, so `+` is not a space. */
  continuationToken?: string;
  apiVersion: number;
  timeoutSeconds: number;
}

export interface TypeOperation {
  name: string;
  method: 'GET' | 'POST';
  /** Whether the URL names a type: `/ApplicationTypes/{name}/...`. */
  named: boolean;
  fn: string;
  minApiVersion: number;
  handle(context: TypeOperationContext): Promise<unknown>;
}

/** A page holds at most this many types, whatever MaxResults asks for. */
export const TYPE_PAGE_LIMIT = 1000;

const CLEANUP_POLICIES: CleanupPolicy[] = ['Invalid', 'Default', 'Automatic', 'Manual'];

function booleanQuery(query: Map<string, string>, name: string): boolean {
  const value = query.get(name);
  if (value === undefined) return false;
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw errors.invalidArgument(`${name} '${value}' is not valid; it must be true or false`);
}

function wholeNumberQuery(query: Map<string, string>, name: string, max: number): number {
  const value = query.get(name);
  if (value === undefined) return 0;
  const number = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(number <= max)) {
    throw errors.invalidArgument(`${name} '${value}' is not a whole number from 0 to ${max}`);
  }
  return number;
}

function requiredQuery(query: Map<string, string>, name: string, operation: string): string {
  const value = query.get(name);
  if (value === undefined || value === '') {
    throw errors.invalidArgument(`${operation} needs the ${name} query parameter`);
  }
  return value;
}

/**
 * Name then version. The token is the base64url of the JSON pair (name, version) of the last
 * item returned: opaque, split exactly whatever the names hold, and made only of characters that
 * survive a client sending it unencoded.
 */
function issueToken(row: { name: string; version: string }): string {
  return Buffer.from(JSON.stringify([row.name, row.version])).toString('base64url');
}

function parseToken(token: string | undefined) {
  if (token === undefined || token === '') return undefined;
  const notOurs = () =>
    errors.invalidArgument(`ContinuationToken '${token}' was not issued by this server`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw notOurs();
  let pair: unknown;
  try {
    pair = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw notOurs();
  }
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((p) => typeof p !== 'string')) {
    throw notOurs();
  }
  return { name: pair[0] as string, version: pair[1] as string };
}

async function listTypes(context: TypeOperationContext) {
  const { query, apiVersion, reply, provisioner } = context;
  const maxResults = wholeNumberQuery(query, 'MaxResults', Number.MAX_SAFE_INTEGER);
  const kindFilter = wholeNumberQuery(query, 'ApplicationTypeDefinitionKindFilter', 65535);
  const options = {
    excludeParameters: booleanQuery(query, 'ExcludeApplicationParameters'),
    enumsAsNumbers: apiVersion < 3.0,
  };
  const version = context.typeName === undefined ? undefined : query.get('ApplicationTypeVersion');
  // Every registered type is a Service Fabric application package (kind bit 1); none is Compose.
  const kindMatches = kindFilter === 0 || (kindFilter & 1) === 1;
  const fetch = async (after: ReturnType<typeof parseToken>, limit: number) =>
    kindMatches
      ? provisioner.types.list({ name: context.typeName, version, after, limit })
      : ([] as ApplicationTypeRecord[]);

  if (apiVersion <= 3.0) {
    // The unpaged form Service Fabric Explorer reads: a plain array of everything.
    const all: ApplicationTypeRecord[] = [];
    for (let after = undefined; ;) {
      const page = await fetch(after, TYPE_PAGE_LIMIT);
      all.push(...page);
      if (page.length < TYPE_PAGE_LIMIT) break;
      after = page[page.length - 1];
    }
    return sendJson(
      reply,
      all.map((row) => applicationTypeInfo(row, options)),
    );
  }

  const limit = maxResults === 0 ? TYPE_PAGE_LIMIT : Math.min(maxResults, TYPE_PAGE_LIMIT);
  const rows = await fetch(parseToken(context.continuationToken), limit + 1);
  const page = rows.slice(0, limit);
  if (apiVersion === 4.0 && page.length === 0) return reply.code(204).send();
  const last = page[page.length - 1];
  return sendJson(reply, {
    ContinuationToken: rows.length > limit ? issueToken(last) : '',
    Items: page.map((row) => applicationTypeInfo(row, options)),
  });
}

function nonEmptyProperty(body: Record<string, unknown>, name: string): string {
  const value = stringProperty(body, name, true);
  if (value.trim() === '') throw errors.invalidArgument(`The property '${name}' is empty`);
  return value;
}

function parseProvisionBody(body: Record<string, unknown>, apiVersion: number): ProvisionRequest {
  const async = booleanProperty(body, 'Async') ?? false;
  const kind = stringProperty(body, 'Kind');
  // Up to 6.0 the body is the flat ApplicationTypeImageStorePath, without Kind.
  if (kind === undefined && apiVersion > 6.0) {
    throw errors.invalidArgument(
      `The property 'Kind' is required from api-version 6.1 on: ImageStorePath or ExternalStore`,
    );
  }
  if (kind === undefined || kind.toLowerCase() === 'imagestorepath') {
    const buildPath =
      stringProperty(body, 'ApplicationTypeBuildPath') ??
      stringProperty(body, 'ApplicationTypeImageStorePath');
    if (buildPath === undefined) {
      throw errors.invalidArgument(`The property 'ApplicationTypeBuildPath' is required`);
    }
    const policyName = stringProperty(body, 'ApplicationPackageCleanupPolicy');
    let cleanupPolicy = CLEANUP_POLICIES.find((p) => p.toLowerCase() === policyName?.toLowerCase());
    if (policyName !== undefined && !cleanupPolicy) {
      throw errors.invalidArgument(
        `ApplicationPackageCleanupPolicy '${policyName}' is not one of ` +
          CLEANUP_POLICIES.join(', '),
      );
    }
    if (!cleanupPolicy && booleanProperty(body, 'DisableApplicationPackageCleanup')) {
      cleanupPolicy = 'Manual';
    }
    return { kind: 'ImageStorePath', buildPath, cleanupPolicy: cleanupPolicy ?? 'Default', async };
  }
  if (kind.toLowerCase() === 'externalstore') {
    return {
      kind: 'ExternalStore',
      downloadUri: stringProperty(body, 'ApplicationPackageDownloadUri', true),
      name: nonEmptyProperty(body, 'ApplicationTypeName'),
      version: nonEmptyProperty(body, 'ApplicationTypeVersion'),
      async,
    };
  }
  throw errors.invalidArgument(`Kind '${kind}' is not one of ImageStorePath, ExternalStore`);
}

async function provision({
  request,
  reply,
  provisioner,
  apiVersion,
  timeoutSeconds,
}: TypeOperationContext) {
  const what = 'ProvisionApplicationTypeDescription';
  const body = requireObject(await readJsonBody(request.raw, what), what);
  const description = parseProvisionBody(body, apiVersion);
  await provisioner.provision(description, timeoutSeconds);
  return sendJson(reply, undefined, description.async ? 202 : 200);
}

async function unprovision({ request, reply, provisioner, typeName }: TypeOperationContext) {
  const what = 'UnprovisionApplicationTypeDescriptionInfo';
  const body = requireObject(await readJsonBody(request.raw, what), what);
  const version = stringProperty(body, 'ApplicationTypeVersion', true);
  const async = booleanProperty(body, 'Async') ?? false;
  await provisioner.unprovision(typeName!, version, async);
  return sendJson(reply, undefined, async ? 202 : 200);
}

/** The registered version a manifest query names; only `Available` versions have manifests. */
async function availableVersion(context: TypeOperationContext, operation: string) {
  const version = requiredQuery(context.query, 'ApplicationTypeVersion', operation);
  const row = await context.provisioner.types.get(context.typeName!, version);
  if (!row || row.status !== 'Available') {
    const state = row ? ` (it is ${row.status})` : '';
    throw errors.applicationTypeNotFound(
      `Application type '${context.typeName}' version '${version}' is not provisioned${state}`,
    );
  }
  return row;
}

async function applicationManifest(context: TypeOperationContext) {
  const row = await availableVersion(context, 'GetApplicationManifest');
  return sendJson(context.reply, { Manifest: row.applicationManifest });
}

async function serviceManifest(context: TypeOperationContext) {
  const row = await availableVersion(context, 'GetServiceManifest');
  const name = requiredQuery(context.query, 'ServiceManifestName', 'GetServiceManifest');
  const manifest = row.serviceManifests.find((m) => m.name === name);
  if (!manifest) {
    throw errors.serviceManifestNotFound(
      `Application type '${row.name}' version '${row.version}' ` +
        `imports no ServiceManifest '${name}'`,
    );
  }
  return sendJson(context.reply, { Manifest: manifest.manifest });
}

async function serviceTypes(context: TypeOperationContext) {
  const row = await availableVersion(context, 'GetServiceTypeInfoList');
  return sendJson(context.reply, serviceTypeInfos(row.serviceManifests));
}

export const applicationTypeOperations: TypeOperation[] = [
  {
    name: 'GetApplicationTypeInfoList',
    method: 'GET',
    named: false,
    fn: '',
    minApiVersion: 1.0,
    handle: listTypes,
  },
  {
    name: 'ProvisionApplicationType',
    method: 'POST',
    named: false,
    fn: 'Provision',
    minApiVersion: 1.0,
    handle: provision,
  },
  {
    name: 'GetApplicationTypeInfoListByName',
    method: 'GET',
    named: true,
    fn: '',
    minApiVersion: 1.0,
    handle: listTypes,
  },
  {
    name: 'UnprovisionApplicationType',
    method: 'POST',
    named: true,
    fn: 'Unprovision',
    minApiVersion: 1.0,
    handle: unprovision,
  },
  {
    name: 'GetApplicationManifest',
    method: 'GET',
    named: true,
    fn: 'GetApplicationManifest',
    minApiVersion: 1.0,
    handle: applicationManifest,
  },
  {
    name: 'GetServiceManifest',
    method: 'GET',
    named: true,
    fn: 'GetServiceManifest',
    minApiVersion: 1.0,
    handle: serviceManifest,
  },
  {
    name: 'GetServiceTypeInfoList',
    method: 'GET',
    named: true,
    fn: 'GetServiceTypes',
    minApiVersion: 1.0,
    handle: serviceTypes,
  },
];
