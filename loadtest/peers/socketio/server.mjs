// The Socket.IO 4 peer that qivr-loadtest compares the hub with: the most common thing our
// users would pick instead. One worker per core (node:cluster; WebSocket-only transport, so no
// sticky sessions are needed), joined by @socket.io/redis-adapter the way a multi-node
// Socket.IO deployment is.
//
// Protocol (Socket.IO v4 over Engine.IO v4, WebSocket transport):
//   emit("subscribe", channel, ack)  joins the room `channel`, then acks
//   emit("publish", payload)          io.to("evaluations").emit("event", payload)
// No authentication: that only flatters the peer. Pings every 10 minutes, so that the load
// generator's clients need not answer them within a run.
//
// Prints `listening <addr>` once every worker listens. PORT (0: pick one), REDIS_URL,
// WORKERS (default: the number of cores).

import cluster from "node:cluster";
import http from "node:http";
import net from "node:net";
import os from "node:os";

const workers = Number(process.env.WORKERS || os.availableParallelism());
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379";

if (cluster.isPrimary) {
  const port = Number(process.env.PORT) || (await freePort());
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork({ PORT: String(port) }).on("message", (message) => {
      if (message === "listening" && ++ready === workers) {
        console.log(`listening 127.0.0.1:${port}`);
      }
    });
  }
  cluster.on("exit", () => process.exit(1));
} else {
  const { Server } = await import("socket.io");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const prefix = process.env.PREFIX || "qivr-loadtest-socketio";
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({
    transports: ["websocket"],
    pingInterval: 600_000,
    pingTimeout: 600_000,
    adapter: createAdapter(pub, sub, { key: prefix }),
  });
  io.on("connection", (socket) => {
    socket.on("subscribe", (channel, ack) => {
      socket.join(String(channel));
      if (typeof ack === "function") ack();
    });
    socket.on("publish", (payload) => {
      io.to("evaluations").emit("event", payload);
    });
  });
  // Loopback only: listening on every address would clash with the load generator's client
  // sockets, which are bound to 127.0.0.x ports.
  const server = http.createServer();
  io.attach(server);
  process.on("disconnect", () => process.exit(0));
  server.listen(Number(process.env.PORT), "127.0.0.1", () => process.send("listening"));
}

// A free port below the ephemeral range (32768 and up), which the load generator's client
// sockets fill.
async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
