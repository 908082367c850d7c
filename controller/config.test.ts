import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parseConfig, parseDuration, usage, type ControllerConfig } from "./config.js";

function ok(argv: string[], env: NodeJS.ProcessEnv = {}): ControllerConfig {
  const r = parseConfig(argv, { LAGSCALE_SERVICEACCOUNT_DIR: "/nonexistent", ...env });
  if (!r.ok) assert.fail(`expected a config, got errors: ${r.errors.join("; ")}`);
  if (r.help) assert.fail("expected a config, got help");
  return r.config;
}

function errors(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const r = parseConfig(argv, { LAGSCALE_SERVICEACCOUNT_DIR: "/nonexistent", ...env });
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : r.errors;
}

test("defaults: KEDA's ports, client-go's lease timing, all namespaces", () => {
  const c = ok([]);
  assert.equal(c.metricsPort, 8080);
  assert.equal(c.healthPort, 8081);
  assert.equal(c.webhook.port, 9443);
  assert.equal(c.webhook.mode, "auto");
  assert.equal(c.webhook.certFile, "/tmp/k8s-webhook-server/serving-certs/tls.crt");
  assert.deepEqual(
    {
      enabled: c.leaderElection.enabled,
      lease: c.leaderElection.leaseDurationMs,
      renew: c.leaderElection.renewDeadlineMs,
      retry: c.leaderElection.retryPeriodMs,
      ns: c.leaderElection.leaseNamespace,
    },
    { enabled: true, lease: 15_000, renew: 10_000, retry: 2_000, ns: "default" },
  );
  assert.equal(c.watchNamespaces, undefined);
  assert.equal(c.kubeconfig, undefined);
  assert.equal(c.logLevel, "info");
  assert.equal(c.maxConcurrentReconciles, 5);
});

test("flags win over the environment; both forms --a b and --a=b", () => {
  const c = ok(
    ["--metrics-port", "0", "--health-port=9000", "--leader-elect=false", "--lease-duration", "3s"],
    {
      LAGSCALE_METRICS_PORT: "7000",
      WATCH_NAMESPACE: " a, b ,a",
      POD_NAMESPACE: "lagscale",
      POD_NAME: "ctl-0",
      LOG_LEVEL: "DEBUG",
    },
  );
  assert.equal(c.metricsPort, 0);
  assert.equal(c.healthPort, 9000);
  assert.equal(c.leaderElection.enabled, false);
  assert.deepEqual(c.watchNamespaces, ["a", "b"]);
  assert.equal(c.leaderElection.leaseNamespace, "lagscale");
  assert.equal(c.podName, "ctl-0");
  assert.equal(c.logLevel, "debug");
});

test("a bare boolean flag means true; the lease namespace comes from the service account folder", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-config-"));
  writeFileSync(path.join(dir, "namespace"), "keda\n");
  const r = parseConfig(["--leader-elect"], { LAGSCALE_SERVICEACCOUNT_DIR: dir });
  assert.ok(r.ok && !r.help);
  assert.equal(r.ok && !r.help && r.config.leaderElection.enabled, true);
  assert.equal(r.ok && !r.help && r.config.leaderElection.leaseNamespace, "keda");
});

test("every problem at once, each naming its flag or variable", () => {
  const errs = errors(
    [
      "--metrics-port",
      "http",
      "--lease-duration=15",
      "--bogus",
      "--webhooks=maybe",
      "--kubeconfig",
      "/no/such/file",
    ],
    { LOG_LEVEL: "loud", WATCH_NAMESPACE: "Bad_NS", LAGSCALE_SCALEDOBJECT_CTRL_MAX_RECONCILES: "0" },
  );
  const text = errs.join("\n");
  for (const needle of [
    '--metrics-port="http"',
    '--lease-duration="15": must be a positive Go duration',
    "unknown flag --bogus",
    "--webhooks=",
    "/no/such/file: no such file",
    'LOG_LEVEL="loud"',
    '"Bad_NS" is not a namespace name',
    "LAGSCALE_SCALEDOBJECT_CTRL_MAX_RECONCILES",
  ]) {
    assert.ok(text.includes(needle), `expected ${needle} in:\n${text}`);
  }
});

test("leader timings must keep client-go's order", () => {
  const text = errors(["--lease-duration=5s", "--renew-deadline=6s"]).join("\n");
  assert.match(text, /lease duration \(5000 ms\) must be greater than the renew deadline \(6000 ms\)/);
  assert.match(errors(["--renew-deadline=2s", "--retry-period=2s"]).join("\n"), /1\.2 × retry period/);
  // the same timings are fine when leader election is off
  assert.equal(
    ok(["--leader-elect=false", "--lease-duration=5s", "--renew-deadline=6s"]).leaderElection.enabled,
    false,
  );
});

test("webhooks=on needs the certificate files; ports must not collide", () => {
  assert.match(errors(["--webhooks=on", "--cert-dir=/nonexistent"]).join("\n"), /tls\.crt does not exist/);
  assert.match(errors(["--metrics-port=9443"]).join("\n"), /metrics port and the webhook port are both 9443/);
  assert.equal(ok(["--metrics-port=9443", "--webhooks=off"]).metricsPort, 9443);
});

test("Go durations", () => {
  assert.equal(parseDuration("15s"), 15_000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("15"), undefined);
  assert.equal(parseDuration("s"), undefined);
});

test("--help and usage", () => {
  const r = parseConfig(["--help"], {});
  assert.ok(r.ok && r.help);
  assert.match(usage(), /--kubeconfig/);
  assert.match(usage(), /WATCH_NAMESPACE/);
});

test("the end-offset watch: 1s by default, 0 turns it off, too short or not a duration is an error", () => {
  assert.equal(ok([]).endOffsetWatchIntervalMs, 1000);
  assert.equal(ok(["--end-offset-watch-interval=0"]).endOffsetWatchIntervalMs, 0);
  assert.equal(ok([], { LAGSCALE_END_OFFSET_WATCH_INTERVAL: "500ms" }).endOffsetWatchIntervalMs, 500);
  assert.match(
    errors(["--end-offset-watch-interval=10ms"]).join("\n"),
    /--end-offset-watch-interval="10ms": must be 0 \(off\)/,
  );
  assert.match(
    errors([], { LAGSCALE_END_OFFSET_WATCH_INTERVAL: "soon" }).join("\n"),
    /LAGSCALE_END_OFFSET_WATCH_INTERVAL/,
  );
});
test("--reports and --reports-port: the receiver's mode and port, from flags or the environment", () => {
  const d = ok([]);
  assert.deepEqual(d.reports, { mode: "https", port: 9444 });
  assert.deepEqual(ok(["--reports=http", "--reports-port", "0"]).reports, { mode: "http", port: 0 });
  assert.deepEqual(ok([], { LAGSCALE_REPORTS: "off", LAGSCALE_REPORTS_PORT: "9555" }).reports, {
    mode: "off",
    port: 9555,
  });
  assert.deepEqual(
    ok(["--reports=http", "--reports-port=9666"], { LAGSCALE_REPORTS: "off", LAGSCALE_REPORTS_PORT: "9555" })
      .reports,
    { mode: "http", port: 9666 },
    "flags win over the environment",
  );
});

test("--reports and --reports-port refused with the flag named; the receiver's port must not collide", () => {
  const refused: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [["--reports=maybe"], {}, /--reports="maybe": must be https, http or off/],
    [["--reports=HTTPS"], {}, /--reports="HTTPS": must be https, http or off/],
    [[], { LAGSCALE_REPORTS: "on" }, /LAGSCALE_REPORTS="on": must be https, http or off/],
    [["--reports-port=65536"], {}, /--reports-port="65536": must be a port number from 0 to 65535/],
    [["--reports-port=-1"], {}, /--reports-port="-1": must be a port number/],
    [["--reports-port=0x10"], {}, /--reports-port="0x10": must be a port number/],
    [["--reports-port=1e3"], {}, /--reports-port="1e3": must be a port number/],
    [[], { LAGSCALE_REPORTS_PORT: "https" }, /LAGSCALE_REPORTS_PORT="https": must be a port number/],
    [["--reports-port=8080"], {}, /the metrics port and the report receiver port are both 8080/],
    [["--reports-port=8081"], {}, /the health port and the report receiver port are both 8081/],
    [["--reports-port=9443"], {}, /the webhook port and the report receiver port are both 9443/],
    [["--metrics-port=9444"], {}, /the metrics port and the report receiver port are both 9444/],
  ];
  for (const [argv, env, want] of refused) {
    assert.match(errors(argv, env).join("\n"), want, argv.join(" ") || JSON.stringify(env));
  }
  const long = errors([`--reports=${"x".repeat(1000)}`]).join("\n");
  assert.ok(long.length < 200 && long.includes("must be https, http or off"), long);
  // No collision when the receiver or the webhook is off, or the port is picked at run time.
  assert.equal(ok(["--reports=off", "--reports-port=8080"]).reports.mode, "off");
  assert.equal(ok(["--webhooks=off", "--reports-port=9443"]).reports.port, 9443);
  assert.equal(ok(["--reports-port=0", "--metrics-port=0"]).reports.port, 0);
});

test("the injected sidecar's defaults: this version's image, the reports Service in lagscale's namespace", () => {
  const c = ok([], { POD_NAMESPACE: "autoscaling" });
  assert.match(c.inject.sidecarImage, /^lagscale\/sidecar:\d+\.\d+\.\d+/);
  assert.equal(c.inject.reportUrl, "https://lagscale-reports.autoscaling.svc:9444/v1/reports");
  assert.equal(c.inject.bindAddress, undefined);
  assert.equal(c.inject.reportCaFile, undefined);
  const local = ok([
    "--sidecar-image=lagscale/sidecar:dev",
    "--sidecar-report-url=http://10.1.2.3:9444/v1/reports",
    "--sidecar-bind-address=$(POD_IP)",
    "--sidecar-report-ca-file=/etc/lagscale/ca.crt",
  ]);
  assert.deepEqual(local.inject, {
    sidecarImage: "lagscale/sidecar:dev",
    reportUrl: "http://10.1.2.3:9444/v1/reports",
    bindAddress: "$(POD_IP)",
    reportCaFile: "/etc/lagscale/ca.crt",
  });
});

test("the injected sidecar's flags refused with what is allowed", () => {
  assert.deepEqual(
    errors([
      "--sidecar-image=lagscale/sidecar latest",
      "--sidecar-report-url=ftp://x/y",
      "--sidecar-bind-address=pod-ip",
      "--sidecar-report-ca-file=ca.crt",
    ]),
    [
      '--sidecar-image="lagscale/sidecar latest": must be an image reference such as registry.example.com/lagscale/sidecar:0.1.0',
      '--sidecar-report-url="ftp://x/y": must be an http(s) URL without credentials, such as https://lagscale-reports.lagscale.svc:9444/v1/reports',
      '--sidecar-bind-address="pod-ip": must be an IP address (0.0.0.0, ::) or $(POD_IP)',
      '--sidecar-report-ca-file="ca.crt": must be an absolute path',
    ],
  );
  assert.match(
    errors([], { LAGSCALE_SIDECAR_REPORT_URL: "https://u:p@r.svc/v1/reports" })[0]!,
    /^LAGSCALE_SIDECAR_REPORT_URL=/,
  );
});

test("--metrics-names: lagscale by default, keda or both; anything else refused with what is allowed", () => {
  assert.equal(ok([]).metricsNames, "lagscale");
  assert.equal(ok(["--metrics-names=keda"]).metricsNames, "keda");
  assert.equal(ok([], { LAGSCALE_METRICS_NAMES: "both" }).metricsNames, "both");
  assert.match(
    errors(["--metrics-names=KEDA2"]).join("\n"),
    /--metrics-names="KEDA2": must be lagscale, keda or both/,
  );
  assert.match(
    errors([], { LAGSCALE_METRICS_NAMES: "prometheus" }).join("\n"),
    /LAGSCALE_METRICS_NAMES="prometheus": must be lagscale, keda or both/,
  );
});

test("--lag-reader: shared by default, per-trigger for comparison; anything else refused with what is allowed", () => {
  assert.equal(ok([]).lagReader, "shared");
  assert.equal(ok(["--lag-reader=per-trigger"]).lagReader, "per-trigger");
  assert.equal(ok([], { LAGSCALE_LAG_READER: "per-trigger" }).lagReader, "per-trigger");
  assert.match(
    errors(["--lag-reader=keda"]).join("\n"),
    /--lag-reader="keda": must be shared or per-trigger/,
  );
});
