import { createServer } from 'node:http';

/**
 * The peer for request-rate figures: plain `node:http` answering every request with one constant
 * JSON body, so the difference to imagestore is the cost of routing, validation and the catalog.
 * Run as its own process; prints `{"msg":"bare server listening","url":...}` once ready.
 */
const body = Buffer.from(process.argv[2] ?? '{}');
const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(JSON.stringify({ msg: 'bare server listening', url: `http://127.0.0.1:${port}` }));
});
