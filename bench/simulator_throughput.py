"""AMI simulator throughput: fast-failing Originates per second over one AMI connection.

Starts ``python -m dialerd.pbx.simulator --time-scale 0`` in its own process,
logs in with a plain socket client, keeps a window of Originates in flight
(busy and vacant numbers, which fail at once) and counts OriginateResponse and
Hangup events with large recv buffers. Usage:

    .venv/bin/python bench/simulator_throughput.py [--calls 20000] [--window 400]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

RECV_BYTES = 1 << 20
RESPONSE = b"Event: OriginateResponse\r\n"
HANGUP = b"Event: Hangup\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _originate(i: int) -> bytes:
    number = f"8613800{i:06d}{1 if i % 2 else 3}"
    return (
        f"Action: Originate\r\nActionID: b-{i}\r\nChannelId: b-{i}\r\nOtherChannelId: b-{i}-2\r\n"
        f"Channel: PJSIP/{number}@carrier\r\nContext: dialerd-answered\r\nExten: s\r\n"
        f'Priority: 1\r\nTimeout: 30000\r\nCallerID: "dialerd" <4000>\r\n'
        f"Variable: DIALERD_ATTEMPT={i}\r\nAsync: true\r\n\r\n"
    ).encode()


class Counter:
    """Counts whole markers in a byte stream cut at arbitrary places."""

    def __init__(self) -> None:
        self.tail = b""
        self.responses = 0
        self.hangups = 0
        self.bytes = 0

    def feed(self, data: bytes) -> None:
        self.bytes += len(data)
        buf = self.tail + data
        cut = buf.rfind(b"\r\n\r\n") + 4 if b"\r\n\r\n" in buf else 0
        done, self.tail = buf[:cut], buf[cut:]
        self.responses += done.count(RESPONSE)
        self.hangups += done.count(HANGUP)


def run(calls: int, window: int, port: int) -> tuple[float, int]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BYTES)
    sock.sendall(b"Action: Login\r\nUsername: dialerd\r\nSecret: dialerd-secret\r\n\r\n")
    greeting = b""
    while b"FullyBooted" not in greeting:
        greeting += sock.recv(RECV_BYTES)
    counter, sent = Counter(), 0
    started = time.perf_counter()
    while counter.responses < calls or counter.hangups < 2 * calls:
        if sent < calls and sent - counter.responses < window:
            batch = min(window - (sent - counter.responses), calls - sent, 200)
            sock.sendall(b"".join(_originate(sent + i) for i in range(batch)))
            sent += batch
        counter.feed(sock.recv(RECV_BYTES))
    elapsed = time.perf_counter() - started
    sock.sendall(b"Action: Logoff\r\n\r\n")
    sock.close()
    return elapsed, counter.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=400)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "dialerd.pbx.simulator", "--port", str(port), "--time-scale", "0"],
        stderr=subprocess.PIPE,
    )
    try:
        assert server.stderr is not None
        server.stderr.readline()  # "listening on ..."
        run(500, args.window, port)  # warm-up: templates compiled, caches hot
        elapsed, received = run(args.calls, args.window, port)
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = args.calls / elapsed
    print(f"{args.calls} busy/vacant Originates in {elapsed:.2f} s: {rate:,.0f} calls/s")
    per_call = received / args.calls
    print(f"events received: {received / elapsed / 1e6:.1f} MB/s, {per_call:,.0f} B/call")


if __name__ == "__main__":
    main()
