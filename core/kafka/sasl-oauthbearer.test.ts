/**
 * The OAUTHBEARER exchange. The broker side here is a fake `saslAuthenticate` that answers as Kafka does
 * (empty bytes on success, an error document then an error on refusal); test/lag/kafka-security.test.ts
 * runs the same provider against the real broker.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuthenticationProviderArgs } from "kafkajs";
import {
  describeRejection,
  extensionProblems,
  initialResponse,
  oauthBearerMechanism,
  type OAuthBearerProviderOptions,
} from "./sasl-oauthbearer.js";

test("the initial response is RFC 7628's: GS2 header, auth=Bearer, extensions, two %x01 at the end", () => {
  assert.equal(initialResponse({ value: "t0k" }).toString(), "n,,\u0001auth=Bearer t0k\u0001\u0001");
  assert.equal(
    initialResponse({ value: "t", extensions: { logicalCluster: "lkc-1", pool: "p" } }).toString(),
    "n,,\u0001auth=Bearer t\u0001logicalCluster=lkc-1\u0001pool=p\u0001\u0001",
  );
});

test("extensions the broker would refuse are named", () => {
  const cases: [Record<string, string>, RegExp[]][] = [
    [{ logicalCluster: "lkc-1", identityPoolId: "pool-x" }, []],
    [{ "bad-key": "v" }, [/letters only/]],
    [{ auth: "x" }, [/reserved/]],
    [{ k: "caf\u00e9" }, [/printable ASCII/]],
    [{ k: "a\u0001b" }, [/printable ASCII/]],
  ];
  for (const [ext, want] of cases) {
    const got = extensionProblems(ext);
    assert.equal(got.length, want.length, JSON.stringify(ext));
    want.forEach((re, i) => assert.match(got[i]!, re));
  }
});

test("a broker's refusal is shortened to its status and scope", () => {
  assert.equal(describeRejection(Buffer.from('{"status":"invalid_token"}')), "invalid_token");
  assert.equal(
    describeRejection(Buffer.from('{"status":"insufficient_scope","scope":"[kafka]"}')),
    "insufficient_scope (required scope: [kafka])",
  );
  assert.equal(describeRejection(Buffer.from("not json")), "not json");
});

/** A fake broker: records what the client sent, answers with `answers` in turn. */
function fakeBroker(answers: (Buffer | Error)[]) {
  const sent: string[] = [];
  const saslAuthenticate = (async (args: {
    request: { encode(): Buffer | Promise<Buffer> };
    response?: { decode(b: Buffer): Buffer | Promise<Buffer>; parse(b: Buffer): unknown };
  }) => {
    const bytes = await args.request.encode();
    sent.push(bytes.subarray(4).toString());
    const answer = answers.shift() ?? Buffer.alloc(0);
    if (answer instanceof Error) throw answer;
    if (!args.response) return undefined;
    const framed = Buffer.alloc(4 + answer.length);
    framed.writeInt32BE(answer.length, 0);
    answer.copy(framed, 4);
    return args.response.parse(await args.response.decode(framed));
  }) as AuthenticationProviderArgs["saslAuthenticate"];
  return { sent, saslAuthenticate };
}

function authenticate(o: OAuthBearerProviderOptions, broker: ReturnType<typeof fakeBroker>): Promise<void> {
  const m = oauthBearerMechanism(o);
  assert.equal(m.mechanism, "oauthbearer");
  return m
    .authenticationProvider({
      host: "b",
      port: 9093,
      logger: {} as AuthenticationProviderArgs["logger"],
      saslAuthenticate: broker.saslAuthenticate,
    })
    .authenticate();
}

test("an accepted token is sent once and nothing more", async () => {
  const broker = fakeBroker([Buffer.alloc(0)]);
  let rejected = 0;
  await authenticate(
    { token: () => Promise.resolve({ value: "good" }), onRejected: () => rejected++, describe: "t" },
    broker,
  );
  assert.deepEqual(broker.sent, ["n,,\u0001auth=Bearer good\u0001\u0001"]);
  assert.equal(rejected, 0);
});

test("a refused token: the exchange is closed with %x01, the cache told, and the error says why", async () => {
  const broker = fakeBroker([
    Buffer.from('{"status":"invalid_token"}'),
    new Error("SASL_AUTHENTICATION_FAILED"),
  ]);
  let rejected = 0;
  await assert.rejects(
    authenticate(
      {
        token: () => Promise.resolve({ value: "old" }),
        onRejected: () => rejected++,
        describe: "OAuth token",
      },
      broker,
    ),
    (e: Error) => {
      assert.equal(e.name, "KafkaJSSASLAuthenticationError");
      assert.match(e.message, /broker b:9093 rejected the OAuth token: invalid_token/);
      return true;
    },
  );
  assert.deepEqual(broker.sent, ["n,,\u0001auth=Bearer old\u0001\u0001", "\u0001"]);
  assert.equal(rejected, 1);
});

test("a token that cannot be had fails before anything is sent", async () => {
  const broker = fakeBroker([]);
  await assert.rejects(
    authenticate(
      { token: () => Promise.reject(new Error("endpoint down")), describe: "OAuth token from https://idp" },
      broker,
    ),
    /could not get the OAuth token from https:\/\/idp: endpoint down/,
  );
  assert.deepEqual(broker.sent, []);
});
