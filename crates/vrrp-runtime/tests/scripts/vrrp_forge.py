#!/usr/bin/env python3
"""Sends hand-made VRRPv2 IPv4 multicast adverts with an auth_hmac trailer (keepalived 2.4.3,
draft-cassen-vrrp-auth-hmac) from a raw socket, for the lab tests of interop_hmac.rs.

usage: vrrp_forge.py KIND SRC VRID PRIO VIP KEYHEX [COUNT]

KIND: valid, forged (wrong tag), unknown_key (key id 9), malformed (ext type 2), stale
(timestamp 100 s old), truncated (trailer cut to 20 bytes), missing (no trailer), replay (one
valid advert, then the same bytes COUNT times), forged_badsum (wrong tag and a wrong VRRP
checksum), forged_interval (wrong tag, advert interval 5 instead of 1).
An independent implementation of the wire format: it does not use keepalived-rs code."""
import hashlib
import hmac
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def vrrp_v2(vrid, prio, vip, adver_int=1):
    body = struct.pack("!BBBBBBH", 0x21, vrid, prio, 1, 0, adver_int, 0)
    body += socket.inet_aton(vip) + b"\0" * 8
    c = csum(body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def trailer(msg, src, vrid, key, key_id=1, ext_type=1, sec=None, good=True):
    now = time.time()
    if sec is None:
        sec = int(now)
    subsec = int((now - int(now)) * 65536) & 0xFFFF
    prefix = struct.pack("!BBHIHH", ext_type, key_id, 0, sec & 0xFFFFFFFF, subsec, 0)
    pseudo = bytes([4, 2, vrid, 0]) + socket.inet_aton(src) + b"\0" * 12
    pdu = msg[:6] + b"\0\0" + msg[8:]
    tag = hmac.new(key, pseudo + pdu + prefix + b"\0" * 16, hashlib.sha256).digest()[:16]
    if not good:
        tag = bytes(x ^ 0x5A for x in tag)
    return prefix + tag


def ip_packet(src, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, 255, 112, 0,
                      socket.inet_aton(src), socket.inet_aton("224.0.0.18"))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def main():
    kind, src, vrid, prio, vip, keyhex = sys.argv[1:7]
    count = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    vrid, prio, key = int(vrid), int(prio), bytes.fromhex(keyhex)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

    def build():
        msg = vrrp_v2(vrid, prio, vip, 5 if kind == "forged_interval" else 1)
        if kind == "missing":
            return msg
        if kind == "forged_badsum":
            msg = msg[:6] + struct.pack("!H", struct.unpack("!H", msg[6:8])[0] ^ 0xFFFF) + msg[8:]
        t = trailer(
            msg, src, vrid, key,
            key_id=9 if kind == "unknown_key" else 1,
            ext_type=2 if kind == "malformed" else 1,
            sec=int(time.time()) - 100 if kind == "stale" else None,
            good=kind in ("valid", "replay"),
        )
        if kind == "truncated":
            t = t[:20]
        return msg + t

    if kind == "replay":
        pkt = ip_packet(src, build())
        s.sendto(pkt, ("224.0.0.18", 0))
        time.sleep(0.3)
        for _ in range(count):
            s.sendto(pkt, ("224.0.0.18", 0))
            time.sleep(0.15)
        return
    for _ in range(count):
        s.sendto(ip_packet(src, build()), ("224.0.0.18", 0))
        time.sleep(0.15)


main()
