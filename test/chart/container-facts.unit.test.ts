import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEnviron, parseStatus, rootMountReadOnly } from "./container-facts.js";

test("/proc status: real uid and gid, VmRSS", () => {
  const text =
    "Name:\tnode\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nVmRSS:\t  105880 kB\n";
  assert.deepEqual(parseStatus(text), { uid: 1000, gid: 1000, rssKiB: 105880 });
  assert.throws(() => parseStatus("Name:\tnode\n"), /no Uid/);
});

test("mountinfo: the last mount at / decides, by its mount options", () => {
  const ro = [
    "600 500 0:50 / / ro,relatime - overlay overlay rw,lowerdir=/a",
    "601 600 0:51 / /proc rw,nosuid - proc proc rw",
    "602 600 254:0 /v/certs /tmp/certs ro,relatime - ext4 /dev/vda rw",
  ].join("\n");
  assert.equal(rootMountReadOnly(ro), true);
  assert.equal(rootMountReadOnly(ro.replace("/ / ro,relatime", "/ / rw,relatime")), false);
  // only the root mount counts, not a read-only mount elsewhere
  assert.equal(rootMountReadOnly("1 0 0:1 / / rw - overlay overlay rw\n2 1 0:2 / /x ro - tmpfs t ro"), false);
  assert.throws(() => rootMountReadOnly("2 1 0:2 / /x ro - tmpfs t ro"), /no mount at \//);
});

test("environ: NUL-separated, the first = splits", () => {
  assert.deepEqual(parseEnviron("A=1\0B=x=y\0\0"), { A: "1", B: "x=y" });
});
