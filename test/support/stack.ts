/** For integration tests: the local stack that `npm test` brought up, read from its stack.json. */
import { readFileSync } from "node:fs";
import type { StackInfo } from "../stack/types.js";

export function loadStack(): StackInfo {
  const file = process.env.LAGSCALE_STACK_FILE;
  if (!file) {
    throw new Error(
      "LAGSCALE_STACK_FILE is not set: run integration tests through `npm test` (it brings up the local stack), " +
        "or point it at .lagscale/stack.json after `npm run stack -- up`",
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as StackInfo;
}
