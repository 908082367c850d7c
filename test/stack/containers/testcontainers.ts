/**
 * For tests that run Kafka through testcontainers: points testcontainers at the stack's podman socket (also when
 * a test runs outside `npm test`, from stack.json), or, when the stack has no engine, at a runtime it finds by
 * itself (DOCKER_HOST, Docker's socket: the official apache/kafka image then). Answers why not, for `skip`.
 */
import type { StackInfo } from "../types.js";
import { containerRuntimeAnswers } from "../kafka/container.js";
import { serviceStatus, testcontainersEnv } from "./service.js";

export async function testcontainersSkipReason(stack: StackInfo): Promise<string | undefined> {
  const c = stack.containers;
  if (c?.service) {
    // `npm test` set these already; a test run by hand reads them from stack.json
    for (const [k, v] of Object.entries(testcontainersEnv(c.service))) process.env[k] ??= v;
    const st = await serviceStatus(c.service);
    if (st !== "ok") {
      return `the stack's podman API service does not answer (${st}); \`npm run stack -- up\` restarts it`;
    }
    // an engine without the Kafka image would try to pull apache/kafka, which fails here less clearly
    if (c.imagesError && !process.env.LAGSCALE_KAFKA_IMAGE?.trim()) {
      throw new Error(`the test command's image builds failed: ${c.imagesError}`);
    }
    return undefined;
  }
  if (await containerRuntimeAnswers()) return undefined;
  return c && !c.usable
    ? `no container engine: ${c.reason ?? "unknown"}`
    : "no container runtime answers (the stack records no podman socket; no DOCKER_HOST or Docker socket)";
}
