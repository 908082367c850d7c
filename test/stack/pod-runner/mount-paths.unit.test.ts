import assert from "node:assert/strict";
import { test } from "node:test";
import { translateArg, translateEnv, translatePath } from "./mount-paths.js";

const mounts = {
  "/certs": "/state/pods/ns/p/volumes/certs",
  "/var/run/secrets/lagscale": "/state/pods/ns/p/volumes/lagscale-token",
  "/var/run/secrets/lagscale/nested/": "/state/pods/ns/p/volumes/nested/",
  "/": "/state/pods/ns/p/volumes/root",
};

test("a value starting with a mountPath gets the volume's folder; whole segments only; longest wins", () => {
  const cases: [string, string][] = [
    ["/certs", "/state/pods/ns/p/volumes/certs"],
    ["/certs/tls.crt", "/state/pods/ns/p/volumes/certs/tls.crt"],
    ["/certsfoo", "/certsfoo"],
    ["/var/run/secrets/lagscale/token", "/state/pods/ns/p/volumes/lagscale-token/token"],
    ["/var/run/secrets/lagscale/nested/x", "/state/pods/ns/p/volumes/nested/x"],
    ["/etc/passwd", "/etc/passwd"],
    ["certs/tls.crt", "certs/tls.crt"],
    ["", ""],
    ["http://certs/x", "http://certs/x"],
  ];
  for (const [value, want] of cases) assert.equal(translatePath(value, mounts), want, value);
});

test("args: a path as a whole, or the value of a --flag= or -f=", () => {
  const cases: [string, string][] = [
    ["--cert-dir=/certs", "--cert-dir=/state/pods/ns/p/volumes/certs"],
    ["-c=/certs/ca.crt", "-c=/state/pods/ns/p/volumes/certs/ca.crt"],
    ["/certs/tls.key", "/state/pods/ns/p/volumes/certs/tls.key"],
    ["--cert-dir", "--cert-dir"],
    ["--cert-dir=/elsewhere", "--cert-dir=/elsewhere"],
    ["name=/certs", "name=/certs"],
  ];
  for (const [arg, want] of cases) assert.equal(translateArg(arg, mounts), want, arg);
});

test("env: every value, names unchanged", () => {
  assert.deepEqual(
    translateEnv(
      { LAGSCALE_TOKEN_FILE: "/var/run/secrets/lagscale/token", MODE: "fast", DIR: "/certs" },
      mounts,
    ),
    {
      LAGSCALE_TOKEN_FILE: "/state/pods/ns/p/volumes/lagscale-token/token",
      MODE: "fast",
      DIR: "/state/pods/ns/p/volumes/certs",
    },
  );
});
