import assert from "node:assert/strict";
import { test } from "node:test";
import {
  containerUlimits,
  parseContainersSetting,
  parseHardLimits,
  planEngine,
  renderContainersConf,
  type EngineFacts,
} from "./engine.js";

const all = { podman: true, runc: true, debootstrap: true };
const base: EngineFacts = {
  setting: undefined,
  found: all,
  baseGiven: false,
  root: true,
  debian: true,
  aptGet: true,
};

test("planEngine: use, install what is missing, or say why not", () => {
  const table: [string, Partial<EngineFacts>, string][] = [
    ["everything found", {}, "use"],
    ["off", { setting: "off" }, "unavailable: LAGSCALE_CONTAINERS=off"],
    ["off wins over found", { setting: " OFF " }, "unavailable: LAGSCALE_CONTAINERS=off"],
    [
      "nothing, root on Debian",
      { found: { podman: false, runc: false, debootstrap: false } },
      "install podman,runc,debootstrap",
    ],
    ["only runc missing", { found: { ...all, runc: false } }, "install runc"],
    ["no debootstrap but a base is given", { found: { ...all, debootstrap: false }, baseGiven: true }, "use"],
    ["no debootstrap, no base", { found: { ...all, debootstrap: false } }, "install debootstrap"],
    [
      "missing, not root",
      { found: { ...all, podman: false }, root: false },
      "unavailable: podman … (not root)",
    ],
    [
      "missing, not Debian",
      { found: { ...all, podman: false }, debian: false },
      "unavailable: podman … (not Debian)",
    ],
    [
      "missing, no apt-get",
      { found: { ...all, podman: false }, aptGet: false },
      "unavailable: podman … (no apt-get)",
    ],
  ];
  for (const [name, facts, want] of table) {
    const plan = planEngine({ ...base, ...facts });
    const got =
      plan.action === "use"
        ? "use"
        : plan.action === "install"
          ? `install ${plan.packages.join(",")}`
          : `unavailable: ${plan.reason}`;
    if (want.includes("…")) {
      const [head, tail] = want.split("…").map((s) => s.trim());
      assert.ok(got.startsWith(head!) && got.includes(tail!), `${name}: ${got}`);
      assert.match(got, /apt-get install podman runc debootstrap/, `${name}: says how to fix it`);
    } else {
      assert.equal(got, want, name);
    }
  }
});

test("parseContainersSetting: auto or off, else an error naming the value", () => {
  assert.equal(parseContainersSetting(undefined), "auto");
  assert.equal(parseContainersSetting("auto"), "auto");
  assert.equal(parseContainersSetting("false"), "off");
  assert.throws(
    () => parseContainersSetting("docker"),
    /LAGSCALE_CONTAINERS="docker" is not "auto" or "off"/,
  );
});

test("containerUlimits never exceed the hard limits", () => {
  assert.deepEqual(containerUlimits({ nofile: 20_000, nproc: 96_365 }), { nofile: 20_000, nproc: 4096 });
  assert.deepEqual(containerUlimits({ nofile: 1024, nproc: 512 }), { nofile: 1024, nproc: 512 });
  assert.deepEqual(containerUlimits({ nofile: Infinity, nproc: Infinity }), { nofile: 65_536, nproc: 4096 });
});

test("renderContainersConf: runc, cgroupfs, file events, the ulimits", () => {
  const conf = renderContainersConf({ nofile: 10_000, nproc: 1000 });
  assert.match(conf, /^\[containers\]$/m);
  assert.match(conf, /^default_ulimits = \["nofile=10000:10000", "nproc=1000:1000"\]$/m);
  assert.match(conf, /^\[engine\]$/m);
  assert.match(conf, /^runtime = "runc"$/m);
  assert.match(conf, /^cgroup_manager = "cgroupfs"$/m);
  assert.match(conf, /^events_logger = "file"$/m);
});

test("parseHardLimits reads the hard column of /proc/self/limits", () => {
  const limits = [
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max processes             96365                96365                processes ",
    "Max open files            1024                 20000                files     ",
  ].join("\n");
  assert.deepEqual(parseHardLimits(limits), { nofile: 20_000, nproc: 96_365 });
  assert.deepEqual(
    parseHardLimits(limits.replace("96365                processes", "unlimited            processes")),
    { nofile: 20_000, nproc: Infinity },
  );
  assert.throws(() => parseHardLimits("Max processes 1 1"), /Max open files/);
});
