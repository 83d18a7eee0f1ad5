import type { FastifyInstance } from 'fastify';
import { sendJson } from './operation.ts';
import { parseApiVersion, parseQuery, parseTimeout } from './request-options.ts';

const NODE_TYPE = 'ImageStoreNode';

/**
 * The manifest of the one-node "cluster" this server stands for. Clients only read it to learn
 * the image store kind: the .NET client's UploadApplicationPackageAsync and Service Fabric
 * Explorer look for Management/ImageStoreConnectionString = `fabric:ImageStore` (the native
 * image store, spoken to over this REST API).
 */
export function clusterManifestXml(httpGatewayPort: number): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<ClusterManifest xmlns:xsd="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Name="imagestore" Version="1.0" \
xmlns="http://schemas.microsoft.com/2011/01/fabric">
  <NodeTypes>
    <NodeType Name="${NODE_TYPE}">
      <Endpoints>
        <ClientConnectionEndpoint Port="19000" />
        <LeaseDriverEndpoint Port="1026" />
        <ClusterConnectionEndpoint Port="1025" />
        <HttpGatewayEndpoint Port="${httpGatewayPort}" Protocol="http" />
        <ServiceConnectionEndpoint Port="1027" />
      </Endpoints>
    </NodeType>
  </NodeTypes>
  <Infrastructure>
    <Linux IsScaleMin="true">
      <NodeList>
        <Node NodeName="_${NODE_TYPE}_0" IPAddressOrFQDN="localhost" IsSeedNode="true" \
NodeTypeRef="${NODE_TYPE}" FaultDomain="fd:/0" UpgradeDomain="0" />
      </NodeList>
    </Linux>
  </Infrastructure>
  <FabricSettings>
    <Section Name="Management">
      <Parameter Name="ImageStoreConnectionString" Value="fabric:ImageStore" />
    </Section>
  </FabricSettings>
</ClusterManifest>
`;
}

/** `GET /$/GetClusterManifest`, as a plugin for `buildHttpServer`. */
export function clusterRoutes(maxApiVersion: number) {
  return (app: FastifyInstance) => {
    app.get('/$/GetClusterManifest', async (request, reply) => {
      const query = parseQuery(request.raw.url ?? '');
      parseApiVersion(
        query.get('api-version'),
        { min: 1, max: maxApiVersion },
        'GetClusterManifest',
      );
      parseTimeout(query.get('timeout'));
      return sendJson(reply, { Manifest: clusterManifestXml(request.socket.localPort ?? 0) });
    });
  };
}
