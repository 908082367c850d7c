/**
 * A TCP listener that accepts connections and never says a word: the worst kind of dead broker (a client
 * waits for its request timeout, not for a refused connection). For failure injection a real broker cannot
 * produce on demand.
 */
import { createServer, type Server, type Socket } from "node:net";

export async function silentListener(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
