import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMutatingWebhookConfiguration } from "./config.js";

test("the injector's configuration: pods CREATE, Ignore, 5 s, IfNeeded, opt-in label, system namespaces left out", () => {
  const c = renderMutatingWebhookConfiguration({
    service: { namespace: "lagscale", name: "lagscale-webhook" },
    caBundle: "-----BEGIN CERTIFICATE-----\n",
    ownNamespace: "lagscale",
  });
  assert.equal(c.kind, "MutatingWebhookConfiguration");
  assert.equal(c.metadata.name, "lagscale-sidecar-injector");
  assert.deepEqual(c.webhooks, [
    {
      name: "inject.lagscale.io",
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: "Ignore",
      matchPolicy: "Equivalent",
      reinvocationPolicy: "IfNeeded",
      timeoutSeconds: 5,
      clientConfig: {
        service: { namespace: "lagscale", name: "lagscale-webhook", port: 443, path: "/mutate-pod" },
        caBundle: Buffer.from("-----BEGIN CERTIFICATE-----\n").toString("base64"),
      },
      rules: [
        {
          operations: ["CREATE"],
          apiGroups: [""],
          apiVersions: ["v1"],
          resources: ["pods"],
          scope: "Namespaced",
        },
      ],
      objectSelector: {
        matchExpressions: [{ key: "lagscale.io/inject", operator: "In", values: ["enabled"] }],
      },
      namespaceSelector: {
        matchExpressions: [
          {
            key: "kubernetes.io/metadata.name",
            operator: "NotIn",
            values: ["kube-system", "kube-node-lease", "kube-public", "lagscale"],
          },
        ],
      },
    },
  ]);
});

test("the injector's configuration by URL, with more namespaces left out and a name of its own", () => {
  const c = renderMutatingWebhookConfiguration({
    name: "inject-test",
    url: "https://10.0.0.5:9443/",
    caBundle: "x",
    ownNamespace: "kube-system",
    excludeNamespaces: ["cert-manager"],
    timeoutSeconds: 3,
  });
  const w = c.webhooks[0]!;
  assert.equal(c.metadata.name, "inject-test");
  assert.deepEqual(w.clientConfig, { url: "https://10.0.0.5:9443/mutate-pod", caBundle: "eA==" });
  assert.equal(w.timeoutSeconds, 3);
  assert.deepEqual(w.namespaceSelector.matchExpressions[0]!.values, [
    "kube-system",
    "kube-node-lease",
    "kube-public",
    "cert-manager",
  ]);
  assert.throws(
    () => renderMutatingWebhookConfiguration({ caBundle: "x", ownNamespace: "lagscale" }),
    /renderMutatingWebhookConfiguration: give exactly one of service and url/,
  );
});
