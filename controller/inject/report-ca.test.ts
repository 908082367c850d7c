import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createLogger } from "../../core/log.js";
import { MAX_REPORT_CA_BYTES, reportCaProblem, reportCaReader } from "./report-ca.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("report CA: PEM certificates pass; other text, keys and oversized files do not", () => {
  assert.equal(reportCaProblem(PEM), undefined);
  assert.match(reportCaProblem("hello")!, /no PEM certificate/);
  assert.match(reportCaProblem("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----")!, /no PEM/);
  assert.match(reportCaProblem(PEM + "x".repeat(MAX_REPORT_CA_BYTES))!, /larger than/);
});

test("report CA reader: follows the file as it appears, changes and goes", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "report-ca-"));
  const file = path.join(dir, "ca.crt");
  const read = reportCaReader(file, createLogger("test", "silent"));
  assert.equal(read(), undefined, "missing: no CA");
  writeFileSync(file, PEM);
  assert.equal(read(), PEM);
  await new Promise((r) => setTimeout(r, 20));
  const rotated = PEM.replace("MIIB", "MIIC");
  writeFileSync(file, rotated);
  assert.equal(read(), rotated, "a rotated CA is read again");
  writeFileSync(file, "not a certificate at all");
  assert.equal(read(), undefined, "garbage: no CA");
});
