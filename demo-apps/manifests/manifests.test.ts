/** The demo's manifests hang together: names, ports, labels, env values the apps accept, the Dockerfiles' user. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { atoi, parseBindAddress, parseBrokers, parseGroupId, parseTopic } from "../shared/env.js";

const here = path.dirname(fileURLToPath(import.meta.url));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    ports?: { port: number; targetPort: number | string }[];
  };
  resources?: string[];
}

function load(): Map<string, Manifest> {
  const out = new Map<string, Manifest>();
  for (const file of readdirSync(here).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(here, file), "utf8"))) {
      assert.deepEqual(doc.errors, [], file);
      const m = doc.toJS() as Manifest;
      out.set(`${m.kind}/${m.metadata?.name ?? ""}`, m);
    }
  }
  return out;
}

const get = (all: Map<string, Manifest>, key: string): Manifest => {
  const m = all.get(key);
  assert.ok(m, `${key} is missing from demo-apps/manifests`);
  return m;
};
const env = (c: Container, name: string): EnvVar => {
  const v = c.env?.find((e) => e.name === name);
  assert.ok(v, `${c.name} has no ${name}`);
  return v;
};

test("kustomization lists every manifest in the folder", () => {
  const files = readdirSync(here).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  const k = get(load(), "Kustomization/");
  assert.deepEqual([...(k.resources ?? [])].sort(), files.sort());
});

test("workloads: the talk's names, our images, labels that select their pods, non-root as in the Dockerfiles", () => {
  const all = load();
  get(all, "Namespace/keda-demo");
  const dockerUser = (app: string) =>
    /^USER (\d+):\d+$/m.exec(readFileSync(path.join(here, "..", app, "Dockerfile"), "utf8"))?.[1];
  for (const [name, image, app] of [
    ["kafka-producer", "lagscale/demo-producer:dev", "producer"],
    ["kafka-consumer", "lagscale/demo-consumer:dev", "consumer"],
  ] as const) {
    const d = get(all, `Deployment/${name}`);
    assert.equal(d.metadata?.namespace, "keda-demo");
    assert.deepEqual(d.spec?.selector?.matchLabels, { app: name });
    assert.equal(d.spec?.template?.metadata?.labels?.app, name);
    const pod = d.spec!.template!.spec;
    assert.equal(pod.containers[0]?.image, image);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(String(pod.securityContext?.runAsUser), dockerUser(app), `${name} runs as the image's user`);
  }
});

test("the Service sends port 80 to the port the producer binds", () => {
  const all = load();
  const svc = get(all, "Service/kafka-producer-service");
  const producer = get(all, "Deployment/kafka-producer").spec!.template!.spec.containers[0]!;
  assert.deepEqual(svc.spec?.selector, { app: "kafka-producer" });
  const port = svc.spec?.ports?.[0];
  assert.equal(port?.port, 80);
  const target = producer.ports?.find(
    (p) => p.name === port?.targetPort || p.containerPort === port?.targetPort,
  );
  assert.ok(target, "targetPort names no container port");
  assert.equal(parseBindAddress(env(producer, "BIND_ADDRESS").value!).port, target.containerPort);
  assert.match(
    readFileSync(path.join(here, "..", "producer", "Dockerfile"), "utf8"),
    new RegExp(`EXPOSE ${target.containerPort}`),
  );
});

test("env values are ones the apps accept, and all three agree on broker and topic", () => {
  const all = load();
  const producer = get(all, "Deployment/kafka-producer").spec!.template!.spec.containers[0]!;
  const consumer = get(all, "Deployment/kafka-consumer").spec!.template!.spec.containers[0]!;
  const job = get(all, "Job/create-my-topic").spec!.template!.spec.containers[0]!;
  const broker = env(producer, "KAFKA_BROKER").value!;
  parseBrokers(broker);
  for (const c of [consumer, job]) assert.equal(env(c, "KAFKA_BROKER").value, broker);
  for (const c of [producer, consumer, job])
    assert.equal(parseTopic(env(c, "KAFKA_TOPIC").value!), "my-topic");
  assert.equal(parseGroupId(env(consumer, "KAFKA_CONSUMER_GROUP").value!), "g1");
  assert.equal(atoi(env(consumer, "SLEEP").value!), 3n);
  assert.equal(env(consumer, "POD_IP").valueFrom?.fieldRef?.fieldPath, "status.podIP");
});

test("the topic Job creates my-topic with 5 partitions, replication 1, idempotently", () => {
  const job = get(load(), "Job/create-my-topic").spec!.template!.spec.containers[0]!;
  const args = job.command ?? [];
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.ok(args.includes("--create") && args.includes("--if-not-exists"));
  assert.equal(after("--partitions"), "5");
  assert.equal(after("--replication-factor"), "1");
  assert.equal(after("--topic"), "$(KAFKA_TOPIC)");
  assert.equal(after("--bootstrap-server"), "$(KAFKA_BROKER)");
});
