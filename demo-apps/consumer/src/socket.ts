/**
 * A kafkajs socket factory that connects from a given local address, so the broker records the pod IP as
 * the member's client host (the sidecar finds a pod's group members by it). Otherwise it does what
 * kafkajs's default factory does: TLS when asked, keep-alive after 60 s.
 */
import net from "node:net";
import tls from "node:tls";
import type { ISocketFactory } from "kafkajs";

const KEEP_ALIVE_DELAY_MS = 60_000;

export function socketFactoryFrom(localAddress: string): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    // For TLS, the plain socket carries the local address and TLS runs over it.
    const socket = ssl
      ? tls.connect(
          {
            socket: net.connect({ host, port, localAddress }),
            ...(net.isIP(host) ? {} : { servername: host }),
            ...ssl,
          },
          onConnect,
        )
      : net.connect({ host, port, localAddress }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}
