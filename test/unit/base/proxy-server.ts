// A forward proxy for tests: absolute-form requests for http targets (method and headers passed on)
// and CONNECT tunnels for https ones, recording what it was asked, with the credentials it was sent.
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

export interface TestProxy {
  /** http://user:p%40ss@127.0.0.1:PORT */
  url: string;
  /** `METHOD URL Proxy-Authorization` per forwarded request, `CONNECT host:port` per tunnel. */
  seen: string[];
  server: Server;
}

export function startProxy(): Promise<TestProxy> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['proxy-authorization'] ?? ''}`.trim());
    const { 'proxy-authorization': _credentials, ...headers } = req.headers;
    const upstream = request(new URL(req.url!), { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(':');
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://user:p%40ss@127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })));
}
