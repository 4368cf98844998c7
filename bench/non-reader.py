# Opens N websocket clients with a tiny receive buffer that subscribe to a
# topic and then never read: real TCP backpressure within seconds instead of
# the ~10 MB Linux loopback buffers absorb. Prints "ready N", then sleeps.
# usage: python3 non-reader.py HOST PORT TOPIC N
import base64, json, os, socket, sys, time
host, port, topic, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
socks = []
def frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /api/v1/live HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(1)
    s.sendall(frame(json.dumps({"type": "subscribe", "topic": topic})))
    socks.append(s)
print(f"ready {len(socks)}", flush=True)
while True:
    time.sleep(3600)
