/**
 * Hostile flags and environment: property-based (fast-check) and hand-picked. Whatever the command line and
 * the environment hold, parseConfig returns a config within bounds or errors a person can read (short, one
 * per problem, naming the flag or variable); it never throws and never clamps in silence.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  MAX_DURATION_MS,
  MAX_VALUE_CHARS,
  MIN_DURATION_MS,
  parseConfig,
  parseDuration,
  usage,
  type ConfigResult,
} from "./config.js";

const BASE_ENV = { LAGSCALE_SERVICEACCOUNT_DIR: "/nonexistent" };
const FLAG_NAMES = [...usage().matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]!);
const ENV_NAMES = [...usage().matchAll(/\[([A-Z_]+)\]/g)]
  .map((m) => m[1]!)
  .concat(["POD_NAME", "POD_NAMESPACE"]);

/** Values a person, a template engine or an attacker might put in a flag. */
const hostileValue = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom(
    "",
    " ",
    "NaN",
    "-1",
    "-0",
    "1e3",
    "0x50",
    "65536",
    "99999999999999999999999",
    "Infinity",
    "9007199254740993",
    "1.5",
    "0s",
    "1ns",
    "-5s",
    "999999h",
    "2562047h",
    "1e400s",
    "1h1h1h1h",
    "15s ",
    "\u0000",
    "true\n",
    "${POD_NAME}",
    "x".repeat(MAX_VALUE_CHARS + 1),
    "9".repeat(10_000) + "ms",
  ),
  fc.integer().map(String),
  fc.double().map(String),
);

const hostileArg = fc.oneof(
  fc.tuple(fc.constantFrom(...FLAG_NAMES), hostileValue).map(([n, v]) => `--${n}=${v}`),
  fc.constantFrom(...FLAG_NAMES).map((n) => `--${n}`),
  hostileValue,
  fc.constantFrom(
    "--",
    "-",
    "---",
    "--=",
    "--=x",
    "--__proto__",
    "--constructor",
    "--toString=1",
    "--help=false",
  ),
);

const hostileEnv = fc.dictionary(fc.constantFrom(...ENV_NAMES), hostileValue, { maxKeys: 8 });

function checkResult(r: ConfigResult): void {
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    for (const e of r.errors) {
      assert.equal(typeof e, "string");
      assert.ok(e.length > 0 && e.length <= 400, `an error of ${e.length} characters: ${e.slice(0, 120)}`);
    }
    return;
  }
  if (r.help) return;
  const c = r.config;
  for (const port of [c.metricsPort, c.healthPort, c.webhook.port]) {
    assert.ok(Number.isInteger(port) && port >= 0 && port <= 65535, `port ${port}`);
  }
  const le = c.leaderElection;
  for (const ms of [le.leaseDurationMs, le.renewDeadlineMs, le.retryPeriodMs, c.shutdownTimeoutMs]) {
    assert.ok(Number.isInteger(ms) && ms >= MIN_DURATION_MS && ms <= MAX_DURATION_MS, `duration ${ms}`);
  }
  assert.ok(Number.isInteger(c.maxConcurrentReconciles) && c.maxConcurrentReconciles >= 1);
  assert.ok(c.maxConcurrentReconciles <= 1000);
  assert.ok(c.bindAddress.length > 0 && c.bindAddress.length <= 253);
  assert.ok(le.leaseName.length <= 253 && le.leaseNamespace.length <= 63);
}

describe("controller flags and environment (property-based)", () => {
  it("any command line and environment: a config within bounds or short errors, never a throw", () => {
    fc.assert(
      fc.property(fc.array(hostileArg, { maxLength: 12 }), hostileEnv, (argv, env) => {
        checkResult(parseConfig(argv, { ...BASE_ENV, ...env }));
      }),
      { numRuns: 400 },
    );
  });

  it("parseDuration: undefined or a finite, non-negative whole number of ms for any string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), hostileValue), (raw) => {
        const ms = parseDuration(raw);
        if (ms !== undefined)
          assert.ok(Number.isFinite(ms) && ms >= 0 && Number.isInteger(ms), `${raw} → ${ms}`);
      }),
      { numRuns: 1000 },
    );
  });

  it("parseDuration reads every whole duration in every unit", () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (n, unit) => {
          assert.equal(parseDuration(`${n}${unit}`), n * units[unit]);
        },
      ),
    );
  });

  it("every flag given twice is an error naming it", () => {
    for (const name of FLAG_NAMES.filter((n) => n !== "help")) {
      const r = parseConfig([`--${name}=a`, `--${name}=b`], BASE_ENV);
      assert.equal(r.ok, false, name);
      if (!r.ok)
        assert.ok(
          r.errors.some((e) => e.includes(`--${name} is given twice`)),
          r.errors.join("; "),
        );
    }
  });

  it("every flag given empty (--name=) is an error naming it", () => {
    for (const name of FLAG_NAMES.filter((n) => n !== "help")) {
      const r = parseConfig([`--${name}=`], BASE_ENV);
      assert.equal(r.ok, false, name);
      if (!r.ok)
        assert.ok(
          r.errors.some((e) => e.includes(`--${name} is empty`)),
          r.errors.join("; "),
        );
    }
  });
});

describe("controller flags and environment (hand-picked)", () => {
  const cases: [argv: string[], env: Record<string, string>, error: RegExp][] = [
    [["--metrics-port=-1"], {}, /--metrics-port="-1": must be a port number from 0 to 65535/],
    [["--metrics-port=65536"], {}, /--metrics-port="65536": must be a port number/],
    [["--health-port=99999999999999999999"], {}, /--health-port="99999999999999999999": must be a port/],
    [["--webhook-port=NaN"], {}, /--webhook-port="NaN": must be a port/],
    [["--webhook-port=8e3"], {}, /--webhook-port="8e3": must be a port/],
    [[], { LAGSCALE_METRICS_PORT: "0x1F90" }, /LAGSCALE_METRICS_PORT="0x1F90": must be a port/],
    [["--lease-duration=999999h"], {}, /--lease-duration="999999h": must be from 100ms to 1h/],
    [["--shutdown-timeout=720h"], {}, /--shutdown-timeout="720h": must be from 100ms to 1h/],
    [["--retry-period=1ms"], {}, /--retry-period="1ms": must be from 100ms to 1h/],
    [["--renew-deadline=1e400s"], {}, /--renew-deadline="1e400s": must be a positive Go duration/],
    [["--retry-period=-2s"], {}, /must be a positive Go duration/],
    [
      [`--shutdown-timeout=${"9".repeat(400)}ms`],
      {},
      /--shutdown-timeout="9{80}…": must be from 100ms to 1h/,
    ],
    [["--max-concurrent-reconciles=1e3"], {}, /must be a whole number from 1 to 1000/],
    [["--max-concurrent-reconciles=1000000000000000000000"], {}, /must be a whole number from 1 to 1000/],
    [["--leader-election-id=Lease!"], {}, /--leader-election-id="Lease!": must be a Lease name/],
    [[`--leader-election-namespace=${"a".repeat(64)}`], {}, /must be a namespace name/],
    [["--bind-address=not an address"], {}, /--bind-address="not an address": must be an IP address/],
    [[], { POD_NAME: "Pod_0" }, /POD_NAME="Pod_0": must be a pod name/],
    [[], { POD_NAMESPACE: "x".repeat(64) }, /POD_NAMESPACE="x{64}": must be a namespace name/],
    [
      [],
      { WATCH_NAMESPACE: Array.from({ length: 300 }, (_, i) => `ns${i}`).join(",") },
      /300 namespaces; the limit is 256/,
    ],
    [
      [`--cert-dir=${"d".repeat(MAX_VALUE_CHARS + 1)}`],
      {},
      /--cert-dir is 4097 characters long; the limit is 4096/,
    ],
    [[], { LOG_LEVEL: "x".repeat(100_000) }, /LOG_LEVEL is 100000 characters long/],
    [["--metrics-port=1", "--metrics-port", "2"], {}, /--metrics-port is given twice \("1" and "2"\)/],
    [["--bind-address="], {}, /--bind-address is empty/],
    [["--kubeconfig="], {}, /--kubeconfig is empty/],
    [["--webhooks= "], {}, /--webhooks is empty/],
    [["--__proto__=1"], {}, /unknown flag --__proto__/],
    [["--constructor"], {}, /unknown flag --constructor/],
    [["--bad\u0000flag"], {}, /unknown flag "--bad\\u0000flag"/],
    [["metrics-port=1"], {}, /unexpected argument "metrics-port=1"/],
    [["--leader-elect=yes"], {}, /--leader-elect="yes": must be true or false/],
  ];
  for (const [argv, env, error] of cases) {
    it(`${JSON.stringify(argv).slice(0, 60)} ${JSON.stringify(env).slice(0, 60)}`, () => {
      const r = parseConfig(argv, { ...BASE_ENV, ...env });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(
          r.errors.some((e) => error.test(e)),
          `${error} in:\n${r.errors.join("\n")}`,
        );
        checkResult(r);
      }
    });
  }

  it("--help=false is not a request for help", () => {
    const r = parseConfig(["--help=false"], BASE_ENV);
    assert.ok(r.ok && !r.help);
  });

  it("bounds are inclusive: 100ms, 1h, port 0 and 65535 are accepted", () => {
    const r = parseConfig(
      [
        "--shutdown-timeout=1h",
        "--retry-period=100ms",
        "--metrics-port=65535",
        "--health-port=0",
        "--bind-address=::",
      ],
      BASE_ENV,
    );
    assert.ok(r.ok && !r.help, r.ok ? "" : r.errors.join("; "));
    assert.equal(r.config.shutdownTimeoutMs, 3_600_000);
    assert.equal(r.config.leaderElection.retryPeriodMs, 100);
    assert.equal(r.config.metricsPort, 65535);
  });
});
