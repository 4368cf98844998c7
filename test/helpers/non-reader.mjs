// Run with Node (not Bun): opens N websocket clients that subscribe to a
// topic and then never read, so the server sees real TCP backpressure.
// Bun's built-in `ws` cannot pause reading; Node's `ws` exposes the socket.
// usage: node non-reader.mjs WS_URL TOPIC COUNT   (prints "ready N", then "closed CODE" per drop)
import WebSocket from "ws";
const [url, topic, count] = process.argv.slice(2);
let open = 0;
for (let i = 0; i < Number(count); i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on("error", () => {});
  ws.on("open", () => {
    ws.send(JSON.stringify({ type: "subscribe", topic }));
    // Give the subscribe a moment to be read, then stop reading for good.
    setTimeout(() => {
      ws._socket.pause();
      if (++open === Number(count)) console.log(`ready ${open}`);
    }, 100);
  });
}
setInterval(() => {}, 1 << 30);
