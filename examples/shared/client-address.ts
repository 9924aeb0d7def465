/**
 * The client's address, for per-client policy such as the login throttle's
 * client key: one rule for both adapters, through `proxy-addr` (the package
 * behind Express's `trust proxy`). Off by default: the socket's peer, and
 * `X-Forwarded-For` ignored, since any client can write that header.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/**
 * Which proxies to believe about the client's address (as Express's `trust proxy`):
 * - `false`: none; the socket's peer is the client (the default);
 * - a hop count `n`: the `n` nearest hops are your proxies, so the client is the `n`th address from the right of
 *   `X-Forwarded-For` (Koa's `proxy` with `maxIpsCount: n`);
 * - addresses, CIDRs or `loopback` / `linklocal` / `uniquelocal`: hops at these addresses are your proxies, and the
 *   client is the nearest hop that is not one of them.
 */
export type TrustProxy = false | number | readonly string[];

/** Compiles a setting once; throws a `TypeError` for an address or range `proxy-addr` does not accept. */
export function clientAddress(trust: TrustProxy): (req: IncomingMessage) => string {
  const trusted =
    trust === false
      ? () => false
      : typeof trust === 'number'
        ? (_address: string, hop: number) => hop < trust
        : proxyAddr.compile([...trust]);
  return (req) => proxyAddr(req, trusted) ?? ''; // no address once the socket is gone
}
