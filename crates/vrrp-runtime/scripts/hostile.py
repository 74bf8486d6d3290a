#!/usr/bin/env python3
"""Send hostile VRRPv2 adverts (all with priority 254, which would pre-empt if accepted).
Usage: hostile.py SRC DST VRID VIP PASSWORD KIND...   KIND in: ttl checksum password version
truncated vrid authtype interval valid (valid = a correct advert, for spoofed-source tests;
PASSWORD "-" = no authentication). "version" sends a VRRPv3 header to a v2 instance."""
import socket, struct, sys

src, dst, vrid, vip, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5].encode()

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def vrrp(kind):
    ver = 3 if kind == "version" else 2
    v = vrid + 1 if kind == "vrid" else vrid
    atype = 0 if kind == "authtype" or pw == b"-" else 1
    adv = 3 if kind == "interval" else 1
    auth = (b"wrong" if kind == "password" else pw).ljust(8, b"\0")[:8]
    if atype == 0:
        auth = b"\0" * 8
    m = struct.pack("!BBBBBBH", (ver << 4) | 1, v, 254, 1, atype, adv, 0) + socket.inet_aton(vip) + auth
    c = csum(m)
    if kind == "checksum":
        c ^= 0x5555
    m = m[:6] + struct.pack("!H", c) + m[8:]
    if kind == "truncated":
        m = m[:6]
    return m

def ip(payload, ttl):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0xc0, 20 + len(payload), 4242, 0, ttl, 112, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for kind in sys.argv[6:]:
    ttl = 64 if kind == "ttl" else 255
    for _ in range(3):
        s.sendto(ip(vrrp(kind), ttl), (dst, 0))
print("sent", " ".join(sys.argv[6:]))
