/**
 * A TCP connection probe. `fetch` does not say when its connection was established, so
 * the engine's connect timeout is enforced by opening (and closing at once) one TCP
 * connection to the server's host and port when the engine loads.
 */
import { connect } from 'node:net';

/**
 * Resolves once a TCP connection to the URL's host and port is established; rejects with
 * the socket error (ECONNREFUSED, ENOTFOUND...) or with a `ConnectProbeTimeout` after
 * timeoutMs, or with the signal's reason.
 */
export type ConnectProbe = (url: URL, timeoutMs: number, signal?: AbortSignal) => Promise<void>;

export class ConnectProbeTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`TCP connection not established within ${timeoutMs} ms`);
  }
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

export const tcpConnectProbe: ConnectProbe = (url, timeoutMs, signal) =>
  new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = connect({ host, port: portOf(url) });
    const settle = (error?: unknown): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => settle(signal?.reason);
    const timer = setTimeout(() => settle(new ConnectProbeTimeout(timeoutMs)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => settle());
    socket.once('error', (error) => settle(error));
  });
