// wharf's SQS driven by the AWS SDK for JavaScript v3, which speaks awsJson1_0, checks the MD5
// digests of what it sends and receives, maps errors through x-amzn-query-error, and sends
// requests to the queue URL's host. With WHARF_TEST_AUTH=enforce the shared server runs with
// auth enforced and the client's key as the account's root key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SQSClient,
  CreateQueueCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
} from "@aws-sdk/client-sqs";

const binary = process.env.WHARF_BIN ?? new URL("../../target/debug/wharf", import.meta.url).pathname;
let server;
let endpoint;

const enforced = process.env.WHARF_TEST_AUTH === "enforce";

before(async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "wharf-node-")), "data");
  const args = ["serve", "--bind", "127.0.0.1:0", "--data-dir", dataDir, ...(enforced ? ["--auth", "enforce"] : [])];
  const env = { ...process.env, WHARF_ROOT_ACCESS_KEY_ID: "AKIDNODE", WHARF_ROOT_SECRET_ACCESS_KEY: "secret" };
  delete env.WHARF_AUTH;
  delete env.WHARF_CONFIG;
  server = spawn(binary, args, { stdio: ["ignore", "pipe", "ignore"], env });
  endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("wharf did not start")), 15000);
    server.stdout.on("data", (chunk) => {
      const match = /wharf: listening on (\S+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  if (enforced) {
    const unsigned = await fetch(endpoint, { method: "POST", body: "Action=ListQueues", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.match(await unsigned.text(), /MissingAuthenticationToken/, "auth is enforced");
  }
});

after(() => server?.kill("SIGKILL"));

const client = () =>
  new SQSClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "AKIDNODE", secretAccessKey: "secret" } });

test("send, receive and delete with attributes whose digests the SDK verifies", async () => {
  const sqs = client();
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "node-jobs" }));
  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: "héllo from node",
      MessageAttributes: {
        count: { DataType: "Number", StringValue: "3" },
        blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 254]) },
      },
    }),
  );
  assert.ok(sent.MessageId);
  const got = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }),
  );
  assert.equal(got.Messages.length, 1);
  const [message] = got.Messages;
  assert.equal(message.Body, "héllo from node");
  assert.equal(message.MessageAttributes.count.StringValue, "3");
  assert.deepEqual([...message.MessageAttributes.blob.BinaryValue], [0, 1, 254]);
  // The principal id of the root credentials (the account id), not the access key id.
  assert.equal(message.Attributes.SenderId, "000000000000");
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
});

test("batches report per-entry failures", async () => {
  const sqs = client();
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "node-batch" }));
  const result = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl,
      Entries: [
        { Id: "ok", MessageBody: "fine" },
        { Id: "bad", MessageBody: "bell \u0007" },
      ],
    }),
  );
  assert.deepEqual(result.Successful.map((entry) => entry.Id), ["ok"]);
  assert.equal(result.Failed[0].Id, "bad");
  assert.equal(result.Failed[0].Code, "InvalidMessageContents");
});

test("errors map to modeled exceptions with the legacy code", async () => {
  const sqs = client();
  await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: "missing" })), (error) => {
    assert.ok(error instanceof QueueDoesNotExist, error.name);
    assert.equal(error.Code, "AWS.SimpleQueueService.NonExistentQueue");
    assert.equal(error.$metadata.httpStatusCode, 400);
    return true;
  });
});

test("unmodeled errors carry AWS's JSON type names and the legacy code", async () => {
  const sqs = client();
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "node-unmodeled" }));
  await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x", DelaySeconds: 901 })), (error) => {
    // The SDK names an unmodeled error by its legacy code and keeps the JSON type.
    assert.equal(error.__type, "com.amazonaws.sqs#InvalidParameterValueException");
    assert.equal(error.name, "InvalidParameterValue");
    assert.equal(error.Code, "InvalidParameterValue");
    assert.equal(error.$metadata.httpStatusCode, 400);
    return true;
  });
  await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl })), (error) => {
    assert.equal(error.__type, "com.amazonaws.sqs#MissingRequiredParameterException");
    assert.equal(error.Code, "MissingParameter");
    return true;
  });
});

test("a queue URL with a real AWS host reaches the queue", async () => {
  const sqs = client();
  await sqs.send(new CreateQueueCommand({ QueueName: "node-aws-url" }));
  const QueueUrl = "https://sqs.eu-west-1.amazonaws.com/000000000000/node-aws-url";
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "routed by path" }));
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.equal(got.Messages[0].Body, "routed by path");
});

test("a queue URL names its region, so a client of another region reaches it", async () => {
  const west = client();
  const { QueueUrl } = await west.send(new CreateQueueCommand({ QueueName: "node-regional" }));
  assert.ok(QueueUrl.endsWith("/queue/eu-west-1/000000000000/node-regional"), QueueUrl);
  // No endpoint configured: the SDK sends to the queue URL's host, as it does on AWS.
  const east = new SQSClient({ region: "us-east-1", credentials: { accessKeyId: "AKIDNODE", secretAccessKey: "secret" } });
  await east.send(new SendMessageCommand({ QueueUrl, MessageBody: "across regions" }));
  const got = await west.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.equal(got.Messages[0].Body, "across regions");
});

test("the SDK's SigV4 signatures verify in auth log mode", async () => {
  const { writeFileSync, readFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "wharf-node-auth-"));
  const config = join(dir, "wharf.toml");
  writeFileSync(
    config,
    '[auth]\nmode = "log"\n[[auth.credentials]]\naccess_key_id = "AKIANODELOG"\nsecret_access_key = "node/secret+key"\naccount_id = "210987654321"\n',
  );
  const logPath = join(dir, "wharf.log");
  const { openSync } = await import("node:fs");
  const log = openSync(logPath, "w");
  const logged = spawn(binary, ["serve", "--bind", "127.0.0.1:0", "--in-memory", "--config", config], {
    stdio: ["ignore", "pipe", log],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("wharf did not start")), 15000);
      logged.stdout.on("data", (chunk) => {
        const match = /wharf: listening on (\S+)/.exec(chunk.toString());
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const sqs = new SQSClient({
      endpoint: url,
      region: "ap-southeast-2",
      credentials: { accessKeyId: "AKIANODELOG", secretAccessKey: "node/secret+key" },
    });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "node-signed" }));
    assert.ok(QueueUrl.endsWith("/queue/ap-southeast-2/210987654321/node-signed"), QueueUrl);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "signed by the JS SDK ☃" }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const text = readFileSync(logPath, "utf8");
    assert.equal((text.match(/signature verified/g) ?? []).length, 3, text);
    assert.ok(!text.includes("would be refused"), text);
    assert.ok(!text.includes("node/secret+key"), "the secret is never logged");
  } finally {
    logged.kill("SIGKILL");
  }
});

test("with auth enforced, the SDK's signatures pass and bad ones get SQS's codes", async () => {
  const { writeFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "wharf-node-enforce-"));
  const config = join(dir, "wharf.toml");
  writeFileSync(
    config,
    '[auth]\nmode = "enforce"\n[[auth.credentials]]\naccess_key_id = "AKIANODEENFORCE"\nsecret_access_key = "node/enforced"\naccount_id = "210987654321"\n',
  );
  const enforced = spawn(binary, ["serve", "--bind", "127.0.0.1:0", "--in-memory", "--config", config], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("wharf did not start")), 15000);
      enforced.stdout.on("data", (chunk) => {
        const match = /wharf: listening on (\S+)/.exec(chunk.toString());
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const sqsWith = (accessKeyId, secretAccessKey) =>
      new SQSClient({ endpoint: url, region: "eu-west-1", maxAttempts: 1, credentials: { accessKeyId, secretAccessKey } });
    const { QueueUrl } = await sqsWith("AKIANODEENFORCE", "node/enforced").send(new CreateQueueCommand({ QueueName: "node-enforced" }));
    await sqsWith("AKIANODEENFORCE", "node/enforced").send(new SendMessageCommand({ QueueUrl, MessageBody: "signed" }));
    await assert.rejects(
      sqsWith("AKIANODEENFORCE", "wrong").send(new SendMessageCommand({ QueueUrl, MessageBody: "forged" })),
      (error) => error.name === "SignatureDoesNotMatch" && error.$metadata.httpStatusCode === 403,
    );
    await assert.rejects(
      sqsWith("AKIAUNKNOWNNODEKEY00", "x").send(new SendMessageCommand({ QueueUrl, MessageBody: "stranger" })),
      (error) => error.name === "InvalidClientTokenId",
    );
  } finally {
    enforced.kill("SIGKILL");
  }
});
