// The peer of `pullpolicy serve` in bench/bench_webhooks.py: Probot 14 receiving GitHub push
// deliveries and doing the same durable work as the receiver (HMAC check, parse, one JSON log
// line, `await queue.add` into BullMQ on Redis with the delivery id as job id, so a redelivery
// is not queued twice). With NOOP=1 the handler does nothing (Probot's own cost).
// Settings: PORT, SECRET, REDIS_URL, NOOP; logs go to stdout (pino JSON).
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { Probot, createNodeMiddleware } from "probot";
import { Queue } from "bullmq";
import IORedis from "ioredis";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const probot = new Probot({
  appId: 1,
  privateKey: privateKey.export({ type: "pkcs1", format: "pem" }),
  secret: process.env.SECRET,
  logLevel: "info",
});
const noop = process.env.NOOP === "1";
const queue = noop
  ? null
  : new Queue("bench-peer", {
      connection: new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null }),
    });

const app = (robot) => {
  robot.on("push", async (context) => {
    if (noop) return;
    const repository = context.payload.repository.full_name;
    await queue.add("scan", { repository, head: context.payload.after }, { jobId: context.id });
    context.log.info({ delivery: context.id, repository }, "webhook queued");
  });
};

const middleware = await createNodeMiddleware(app, { probot, webhooksPath: "/webhooks/github" });
createServer((request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(200).end("ok");
    return;
  }
  middleware(request, response, () => response.writeHead(404).end());
}).listen(Number(process.env.PORT), "127.0.0.1");
