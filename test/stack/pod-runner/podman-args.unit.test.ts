import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { ContainerConfigError } from "./env.js";
import {
  containerEnd,
  containerLabels,
  containerMounts,
  containerName,
  containerUser,
  fitsEnvFile,
  parseImageInspect,
  podmanRun,
  runnerId,
  RUNNER_LABEL,
  type ImageConfig,
  type RunSpec,
} from "./podman-args.js";
import { SERVICEACCOUNT_MOUNT } from "./volumes.js";

const IMAGE: ImageConfig = {
  id: "42f8e5de07f3aa",
  entrypoint: ["node", "controller/main.js"],
  cmd: [],
  user: "1000:1000",
  workingDir: "/app",
  env: { PATH: "/usr/bin", NODE_ENV: "production" },
};

const pod = (spec: V1Pod["spec"] = { containers: [] }): V1Pod => ({
  metadata: { name: "p", namespace: "ns", uid: "0123456789abcdef" },
  spec,
});

function spec(c: Partial<V1Container>, p: V1Pod = pod(), img: ImageConfig = IMAGE): RunSpec {
  return {
    name: "lagscale-x_ns_p_01234567_app",
    labels: { [RUNNER_LABEL]: "x" },
    image: "lagscale/controller:dev",
    imageConfig: img,
    pod: p,
    container: { name: "app", ...c },
    hostname: "p",
    env: {},
    mounts: [],
    envFile: "/state/app.env",
    cidFile: "/state/app.cid",
  };
}

test("podman inspect output: entrypoint, cmd, user, workdir, env and the image id", () => {
  const json = [
    {
      Id: "sha256:42f8e5de07f3aa",
      Config: {
        User: "1000:1000",
        Env: ["PATH=/usr/bin", "A=b=c"],
        Entrypoint: ["node", "controller/main.js"],
        WorkingDir: "/app",
      },
    },
  ];
  assert.deepEqual(parseImageInspect(json, "i"), {
    id: "42f8e5de07f3aa",
    entrypoint: ["node", "controller/main.js"],
    cmd: [],
    user: "1000:1000",
    workingDir: "/app",
    env: { PATH: "/usr/bin", A: "b=c" },
  });
  assert.throws(() => parseImageInspect([], "i"), /expected a JSON array/);
  assert.throws(() => parseImageInspect([{ Config: {} }], "i"), /no image Id/);
});

test("names and labels: per stack, pod incarnation and container; the runner id differs by state folder and node", () => {
  const ref = { namespace: "ns", name: "p", uid: "0123456789abcdef" };
  assert.equal(containerName("abc", ref, "app"), "lagscale-abc_ns_p_01234567_app");
  assert.deepEqual(containerLabels("abc", ref, "app"), {
    [RUNNER_LABEL]: "abc",
    "io.kubernetes.pod.namespace": "ns",
    "io.kubernetes.pod.name": "p",
    "io.kubernetes.pod.uid": "0123456789abcdef",
    "io.kubernetes.container.name": "app",
  });
  assert.match(runnerId("/a/.lagscale", "node"), /^[0-9a-f]{10}$/);
  assert.equal(runnerId("/a/.lagscale", "node"), runnerId("/a/.lagscale/", "node"));
  assert.notEqual(runnerId("/a/.lagscale", "node"), runnerId("/b/.lagscale", "node"));
  assert.notEqual(runnerId("/a/.lagscale", "node"), runnerId("/a/.lagscale", "node-2"));
});

test("the user: runAsUser/runAsGroup (container over pod), else the image's; runAsNonRoot as the kubelet checks it", () => {
  const cases: {
    podSc?: NonNullable<V1Pod["spec"]>["securityContext"];
    sc?: V1Container["securityContext"];
    imageUser: string;
    want: string | undefined | RegExp;
  }[] = [
    { imageUser: "1000:1000", want: undefined },
    { podSc: { runAsUser: 2000 }, imageUser: "", want: "2000" },
    { podSc: { runAsUser: 2000, runAsGroup: 3000 }, imageUser: "", want: "2000:3000" },
    { podSc: { runAsUser: 2000 }, sc: { runAsUser: 4000 }, imageUser: "", want: "4000" },
    { sc: { runAsGroup: 5 }, imageUser: "1000:1000", want: "1000:5" },
    { sc: { runAsGroup: 5 }, imageUser: "", want: "0:5" },
    { podSc: { runAsNonRoot: true }, imageUser: "1000:1000", want: undefined },
    { podSc: { runAsNonRoot: true, runAsUser: 1000 }, imageUser: "", want: "1000" },
    {
      podSc: { runAsNonRoot: true },
      imageUser: "",
      want: /image will run as root \(pod: "ns\/p", container: app\)/,
    },
    { sc: { runAsNonRoot: true }, imageUser: "0:0", want: /image will run as root/ },
    { sc: { runAsNonRoot: true, runAsUser: 0 }, imageUser: "1000", want: /image will run as root/ },
    { sc: { runAsNonRoot: true }, imageUser: "node", want: /non-numeric user \(node\), cannot verify/ },
    // the container's runAsNonRoot: false wins over the pod's true
    { podSc: { runAsNonRoot: true }, sc: { runAsNonRoot: false }, imageUser: "", want: undefined },
  ];
  for (const c of cases) {
    const p = pod({ containers: [], ...(c.podSc ? { securityContext: c.podSc } : {}) });
    const container = { name: "app", ...(c.sc ? { securityContext: c.sc } : {}) };
    const label = JSON.stringify(c);
    if (c.want instanceof RegExp) {
      assert.throws(
        () => containerUser(p, container, c.imageUser),
        (err: Error) => err instanceof ContainerConfigError && (c.want as RegExp).test(err.message),
        label,
      );
    } else {
      assert.equal(containerUser(p, container, c.imageUser), c.want, label);
    }
  }
});

test("mounts: every volumeMount at its mountPath, Secret/ConfigMap/projected/downwardAPI read-only, subPath appended", () => {
  const p = pod({
    containers: [],
    volumes: [
      { name: "certs", secret: { secretName: "s" } },
      { name: "token", projected: { sources: [] } },
      { name: "scratch", emptyDir: {} },
      { name: "cfg", configMap: { name: "c" } },
    ],
  });
  const vols = {
    dirs: {
      certs: "/st/v/certs",
      token: "/st/v/token",
      scratch: "/st/v/scratch",
      cfg: "/st/v/cfg",
      ".serviceaccount": "/st/v/.serviceaccount",
    },
    tokens: [],
  };
  const c: V1Container = {
    name: "app",
    volumeMounts: [
      { name: "certs", mountPath: "/tmp/certs" },
      { name: "token", mountPath: "/var/run/secrets/lagscale", readOnly: true },
      { name: "scratch", mountPath: "/work" },
      { name: "scratch", mountPath: "/cache", readOnly: true, subPath: "cache" },
      { name: "cfg", mountPath: "/etc/app.conf", subPath: "app.conf" },
    ],
  };
  assert.deepEqual(containerMounts(p, c, vols), [
    { source: "/st/v/certs", target: "/tmp/certs", readOnly: true },
    { source: "/st/v/token", target: "/var/run/secrets/lagscale", readOnly: true },
    { source: "/st/v/scratch", target: "/work", readOnly: false },
    { source: "/st/v/scratch/cache", target: "/cache", readOnly: true },
    { source: "/st/v/cfg/app.conf", target: "/etc/app.conf", readOnly: true },
    // no volume at the service-account path: the runner's own folder goes there
    { source: "/st/v/.serviceaccount", target: SERVICEACCOUNT_MOUNT, readOnly: true },
  ]);
  const withSa: V1Container = {
    name: "app",
    volumeMounts: [{ name: "token", mountPath: SERVICEACCOUNT_MOUNT }],
  };
  assert.deepEqual(containerMounts(p, withSa, vols), [
    { source: "/st/v/token", target: SERVICEACCOUNT_MOUNT, readOnly: true },
  ]);
  assert.throws(
    () => containerMounts(p, { name: "app", volumeMounts: [{ name: "nope", mountPath: "/x" }] }, vols),
    /volumeMount "nope" names no volume/,
  );
});

test("podman run: host network, name, labels, no pull, the whole process as entrypoint, the image by id", () => {
  const plan = podmanRun(spec({}));
  assert.deepEqual(plan.args, [
    "run",
    "--name=lagscale-x_ns_p_01234567_app",
    `--label=${RUNNER_LABEL}=x`,
    "--pull=never",
    "--network=host",
    "--hostname=p",
    "--log-driver=none",
    "--cidfile=/state/app.cid",
    "--env-file=/state/app.env",
    '--entrypoint=["node","controller/main.js"]',
    "42f8e5de07f3aa",
  ]);
  assert.deepEqual(plan.argv, ["node", "controller/main.js"]);
  assert.deepEqual(plan.notes, []);
});

test("podman run: Kubernetes' command/args rules against the image's entrypoint and cmd", () => {
  const img = { ...IMAGE, entrypoint: ["node"], cmd: ["sidecar/main.js"] };
  const cases: { c: Partial<V1Container>; argv: string[] }[] = [
    { c: {}, argv: ["node", "sidecar/main.js"] },
    { c: { args: ["--help"] }, argv: ["node", "--help"] },
    { c: { command: ["sh", "-c"] }, argv: ["sh", "-c"] },
    { c: { command: ["sh", "-c"], args: ["id"] }, argv: ["sh", "-c", "id"] },
  ];
  for (const { c, argv } of cases) {
    const plan = podmanRun(spec(c, pod(), img));
    assert.deepEqual(plan.argv, argv, JSON.stringify(c));
    assert.ok(plan.args.includes(`--entrypoint=${JSON.stringify(argv)}`), JSON.stringify(c));
  }
  assert.throws(
    () => podmanRun(spec({}, pod(), { ...IMAGE, entrypoint: [], cmd: [] })),
    /has no entrypoint and the container sets no command/,
  );
});

test("podman run: securityContext, resources and workingDir as podman can apply them", () => {
  const p = pod({
    containers: [],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 2000,
      supplementalGroups: [3000],
    },
  });
  const plan = podmanRun(
    spec(
      {
        workingDir: "/data",
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        resources: { limits: { memory: "512Mi", cpu: "500m" }, requests: { cpu: "100m" } },
      },
      p,
    ),
  );
  const flags = plan.args.slice(
    plan.args.indexOf("--cidfile=/state/app.cid") + 1,
    plan.args.indexOf("--env-file=/state/app.env"),
  );
  assert.deepEqual(flags, [
    "--user=1000:1000",
    "--workdir=/data",
    "--security-opt=no-new-privileges",
    "--cap-drop=ALL",
    "--cap-add=NET_BIND_SERVICE",
    "--read-only",
    "--read-only-tmpfs=false",
    "--group-add=2000",
    "--group-add=3000",
    `--memory=${512 * 1024 * 1024}`,
    "--cpus=0.5",
  ]);

  const other = podmanRun(
    spec(
      {
        securityContext: { privileged: true, seccompProfile: { type: "Unconfined" }, procMount: "Unmasked" },
      },
      pod({ containers: [], hostPID: true, securityContext: { sysctls: [{ name: "a", value: "1" }] } }),
    ),
  );
  for (const f of ["--privileged", "--security-opt=seccomp=unconfined", "--pid=host"]) {
    assert.ok(other.args.includes(f), f);
  }
  assert.deepEqual(other.notes, [
    "procMount Unmasked is not applied",
    "sysctls are not applied (host network)",
  ]);
  const localhost = podmanRun(
    spec({ securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "x.json" } } }),
  );
  assert.deepEqual(localhost.notes, ["seccompProfile Localhost is not applied"]);
  assert.throws(
    () => podmanRun(spec({ resources: { limits: { memory: "lots" } } })),
    (err: Error) =>
      err instanceof ContainerConfigError &&
      /container app: limits.memory: "lots" is not a quantity/.test(err.message),
  );
});

test("podman run: env through the env file, values it cannot hold on the command line; mounts", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const s = spec({});
  s.env = { POD_IP: "127.1.0.9", EMPTY: "", REPORT_CA: pem, "#odd": "x" };
  s.mounts = [
    { source: "/st/v/certs", target: "/tmp/certs", readOnly: true },
    { source: "/st/v/scratch", target: "/work", readOnly: false },
  ];
  const plan = podmanRun(s);
  assert.equal(plan.envFileText, "POD_IP=127.1.0.9\nEMPTY=\n");
  assert.ok(plan.args.includes(`--env=REPORT_CA=${pem}`));
  assert.ok(plan.args.includes("--env=#odd=x"));
  assert.ok(plan.args.includes("--mount=type=bind,source=/st/v/certs,destination=/tmp/certs,ro=true"));
  assert.ok(plan.args.includes("--mount=type=bind,source=/st/v/scratch,destination=/work"));
  s.mounts = [{ source: "/st/a,b", target: "/x", readOnly: false }];
  assert.throws(() => podmanRun(s), /without commas/);

  assert.equal(fitsEnvFile("A", "x y = z"), true);
  assert.equal(fitsEnvFile("A", "a\rb"), false);
  assert.equal(fitsEnvFile("1A", "x"), false);
  assert.equal(fitsEnvFile("A", "x".repeat(20_000)), false);
});

test("how a container ended: inspected state first, podman run's exit code otherwise", () => {
  const started = "2026-12-02T10:00:00Z";
  const cases: [Parameters<typeof containerEnd>[0], number, ReturnType<typeof containerEnd>][] = [
    [{ ExitCode: 0, StartedAt: started }, 0, { exitCode: 0, reason: "Completed" }],
    [{ ExitCode: 3, StartedAt: started }, 3, { exitCode: 3, reason: "Error" }],
    [{ ExitCode: 143, StartedAt: started }, 143, { exitCode: 143, reason: "Error" }],
    [{ ExitCode: 137, OOMKilled: true, StartedAt: started }, 137, { exitCode: 137, reason: "OOMKilled" }],
    [
      { ExitCode: 127, Error: "exec: nope: not found", StartedAt: "0001-01-01T00:00:00Z" },
      127,
      { exitCode: 128, reason: "StartError", message: "exec: nope: not found" },
    ],
    [undefined, 2, { exitCode: 2, reason: "Error" }],
    [undefined, 0, { exitCode: 0, reason: "Completed" }],
  ];
  for (const [state, code, want] of cases)
    assert.deepEqual(containerEnd(state, code), want, JSON.stringify(state));
  const failed = containerEnd(undefined, 125);
  assert.equal(failed.reason, "StartError");
  assert.match(failed.message ?? "", /podman run exited with 125 before the container ran/);
});
