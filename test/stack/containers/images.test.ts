/**
 * The test command built this checkout's images (real podman): each app image exists under its usual name and
 * its hashed tag, both name the same image, and the hash is that of this checkout's inputs now, so the pods and
 * the chart of this run get what the repository holds. Skipped, with the reason, without a container engine.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { NODE_BASE_IMAGE } from "./base-images.js";
import { cachedTag, imageFacts, type Podman } from "./build.js";
import { APP_IMAGES, appBuild } from "./images.js";
import { loadStack } from "../../support/stack.js";

const stack = loadStack();
const c = stack.containers;
const skip = !c
  ? "stack.json records no container part (an older stack)"
  : c.usable
    ? false
    : `no container engine: ${c.reason}`;

test(
  "every app image is built from this checkout, tagged :dev and with its content hash",
  { skip },
  async () => {
    assert.equal(c?.imagesError, undefined, "the image builds succeeded");
    const images = c?.images ?? [];
    const p: Podman = { bin: "podman", env: { ...process.env, CONTAINERS_CONF: c!.service!.containersConf } };
    for (const app of APP_IMAGES) {
      const built = images.find((i) => i.name === app.name);
      assert.ok(built, `${app.name} is recorded in stack.json`);
      const base = images.find((i) => i.name === NODE_BASE_IMAGE);
      const ref = base?.tag ?? process.env.LAGSCALE_NODE_BASE?.trim() ?? "";
      const id = base?.id ?? (await imageFacts(p, ref)).id;
      const now = await cachedTag(await appBuild(app, { ref, id }));
      assert.equal(built.tag, now, `${app.name}: built from this checkout's files as they are now`);
      const [dev, hashed] = await Promise.all([imageFacts(p, app.name), imageFacts(p, built.tag)]);
      assert.equal(dev.id, hashed.id, `${app.name} and ${built.tag} are one image`);
      assert.ok(hashed.bytes > 0);
    }
  },
);
