#!/usr/bin/env python3
"""Client-visible outage probe: send a UDP probe to VIP:PORT every INTERVAL ms for DURATION s,
count replies from an echo server on whichever director holds the VIP, and print one JSON line
{sent, received, lost, max_gap_ms} (max_gap_ms = largest gap between consecutive replies,
including from the start to the first reply and from the last reply to the end).
Usage: probe.py VIP PORT DURATION_S [INTERVAL_MS]      |      probe.py --echo PORT"""
import json, socket, sys, time, select

if sys.argv[1] == "--echo":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)

vip, port, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
iv = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.002
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
start = time.monotonic()
end = start + dur
nxt = start
sent = recv = 0
last = None
first = None
gap = 0.0
seen = set()
while True:
    now = time.monotonic()
    if now >= end:
        break
    if now >= nxt:
        try:
            s.sendto(sent.to_bytes(4, "big"), (vip, port))
        except OSError:
            pass
        sent += 1
        nxt += iv
    r, _, _ = select.select([s], [], [], max(0.0, min(nxt, end) - time.monotonic()))
    if r:
        try:
            while True:
                d, _ = s.recvfrom(64)
                n = int.from_bytes(d[:4], "big")
                if n in seen:
                    continue
                seen.add(n)
                t = time.monotonic()
                if last is not None:
                    gap = max(gap, t - last)
                else:
                    first = t
                last = t
                recv += 1
        except BlockingIOError:
            pass
# Head and tail count too: a VIP that never answers again is an outage until the end.
if last is None:
    gap = dur
else:
    gap = max(gap, end - last, (first - start) if first is not None else 0.0)
print(json.dumps({"sent": sent, "received": recv, "lost": sent - recv, "max_gap_ms": round(gap * 1000, 1)}))
