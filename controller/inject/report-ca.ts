/**
 * The CA injected sidecars trust for the report URL: the PEM of a file (by default `ca.crt` beside the
 * webhook's serving certificate, as cert-manager and chart-made TLS Secrets carry it), read again when the
 * file changes so that a rotated CA reaches pods created after the rotation. A file that is missing, too
 * large or not PEM certificates gives no CA (the sidecar then trusts the system roots), said once in the log.
 */
import { readFileSync, statSync } from "node:fs";
import type { Logger } from "../../core/log.js";
import { errorText } from "../../core/errors.js";

/** A CA bundle is a few KiB; anything larger is not one, and would bloat every pod spec. */
export const MAX_REPORT_CA_BYTES = 64 * 1024;

/** Why `text` cannot be given to sidecars as their report CA, or undefined when it can. */
export function reportCaProblem(text: string): string | undefined {
  if (Buffer.byteLength(text) > MAX_REPORT_CA_BYTES) return `larger than ${MAX_REPORT_CA_BYTES} bytes`;
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(text))
    return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  return undefined;
}

/** A reader of `file`'s CA, cached by modification time and size. */
export function reportCaReader(file: string, logger: Logger): () => string | undefined {
  let seen: { key: string; pem: string | undefined } | undefined;
  let complained = "";
  return () => {
    let key: string;
    try {
      const st = statSync(file);
      key = `${st.mtimeMs}:${st.size}`;
    } catch {
      key = "missing";
    }
    if (seen?.key === key) return seen.pem;
    let pem: string | undefined;
    let problem: string | undefined = key === "missing" ? "does not exist" : undefined;
    if (!problem) {
      try {
        const text = readFileSync(file, "utf8");
        problem = reportCaProblem(text);
        if (!problem) pem = text;
      } catch (err) {
        problem = `cannot be read: ${errorText(err)}`;
      }
    }
    if (problem && complained !== `${key}:${problem}`) {
      complained = `${key}:${problem}`;
      logger.warn({ file, problem }, "no report CA for injected sidecars: they will trust the system roots");
    }
    seen = { key, pem };
    return pem;
  };
}
