/**
 * TLS certificate and key from files, for the controller's HTTPS servers (webhook, report receiver), reloaded
 * when either changes: a mounted Secret is replaced atomically through a symlink, so the files are polled by
 * stat (which follows it) instead of watched.
 *
 *   const tls = new TlsFiles({ certFile, keyFile }, { name: "webhook", logger });
 *   const server = https.createServer({ ...serverOptions(limits), ...tls.read() }, listener);
 *   const stop = tls.reloadOnChange(server);   // and stop() on close
 */
import { readFileSync, statSync } from "node:fs";
import type { Server } from "node:https";
import type { Logger } from "../core/log.js";

export interface TlsFilePaths {
  certFile: string;
  keyFile: string;
}

export interface TlsFilesContext {
  /** For logs: which server. */
  name: string;
  logger: Logger;
  /** How often the files are checked for changes; default 10 s. */
  checkIntervalMs?: number | undefined;
}

function fileStamp(file: string): string {
  const s = statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

export class TlsFiles {
  /** The files' identity when last read; taken before reading, so a change during a read is seen next time. */
  private stamp = "";

  constructor(
    readonly paths: TlsFilePaths,
    private readonly ctx: TlsFilesContext,
  ) {}

  private currentStamp(): string {
    return `${fileStamp(this.paths.certFile)}|${fileStamp(this.paths.keyFile)}`;
  }

  /** Reads both files (throws when one is missing or unreadable: the server cannot start without them). */
  read(): { cert: Buffer; key: Buffer } {
    this.stamp = this.currentStamp();
    return { cert: readFileSync(this.paths.certFile), key: readFileSync(this.paths.keyFile) };
  }

  /**
   * Polls the files and swaps the server's certificate when they change; logs failed TLS handshakes at
   * debug (scanners, plain-HTTP clients). Returns the function that stops polling.
   */
  reloadOnChange(server: Server): () => void {
    const { name, logger } = this.ctx;
    const { certFile, keyFile } = this.paths;
    server.on("tlsClientError", (err: Error & { code?: string }) => {
      logger.debug({ server: name, err: err.message, code: err.code }, "TLS handshake failed");
    });
    const check = (): void => {
      let next: string;
      try {
        next = this.currentStamp();
      } catch (err) {
        logger.error({ server: name, err, certFile, keyFile }, "cannot stat the TLS files");
        return;
      }
      if (next === this.stamp) return;
      try {
        server.setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
        this.stamp = next;
        logger.info({ server: name, certFile }, "reloaded the TLS certificate");
      } catch (err) {
        // A half-written pair (new certificate, old key) fails here; the next check picks up the rest.
        logger.error(
          { server: name, err, certFile },
          "cannot load the new TLS certificate; keeping the old one",
        );
      }
    };
    const timer = setInterval(check, this.ctx.checkIntervalMs ?? 10_000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
