/**
 * The machine's first non-loopback IPv4 address. EndpointSlices refuse 127.0.0.0/8, so whatever the API
 * server must reach through a Service (webhooks, the pod runner's Service proxy) listens there.
 */
import { networkInterfaces } from "node:os";

export function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error(
    "this machine has no non-loopback IPv4 address; EndpointSlices cannot point at 127.0.0.0/8, so Services " +
      "the API server calls need one",
  );
}
