// The bare endpoint of the node stack in bench/bench_webhooks.py: node:http reads the body
// and answers 202, nothing else. Settings: PORT.
import { createServer } from "node:http";

createServer((request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(200).end("ok");
    return;
  }
  request.on("data", () => {});
  request.on("end", () => response.writeHead(202).end());
}).listen(Number(process.env.PORT), "127.0.0.1");
