#!/usr/bin/env python3
"""A TLS 1.2 web server for the SSL_GET tls_compliant test: for each connection it reads the
request, answers 200 with a small body and its own close_notify, then reads what the client
sends until it closes the TCP connection, and prints one line: `clean` when that holds a TLS
alert record (content type 21 in clear in TLS 1.2: the client's close_notify), `quiet` when
the client closed without one.

usage: tls_close_server.py ADDR PORT CERT KEY"""
import socket
import ssl
import sys


def pump_out(sock, bio):
    data = bio.read()
    if data:
        sock.sendall(data)


def serve(ctx, raw):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=True)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump_out(raw, out)
            chunk = raw.recv(16384)
            if not chunk:
                return "error handshake EOF"
            inc.write(chunk)
    pump_out(raw, out)
    req = b""
    while b"\r\n\r\n" not in req:
        try:
            req += obj.read(16384)
        except ssl.SSLWantReadError:
            chunk = raw.recv(16384)
            if not chunk:
                return "error request EOF"
            inc.write(chunk)
    body = b"ok\n"
    obj.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    try:
        obj.unwrap()
    except (ssl.SSLWantReadError, ssl.SSLError):
        pass
    pump_out(raw, out)
    # Everything the client sends until it closes: TLS records in clear framing.
    rest = b""
    while True:
        try:
            chunk = raw.recv(16384)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    types = []
    i = 0
    while i + 5 <= len(rest):
        types.append(rest[i])
        i += 5 + int.from_bytes(rest[i + 3:i + 5], "big")
    return "clean" if 21 in types else "quiet %s" % types


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(16)
    print("LISTENING", flush=True)
    while True:
        raw, _ = lsock.accept()
        raw.settimeout(5)
        try:
            print(serve(ctx, raw), flush=True)
        except (ssl.SSLError, OSError) as e:
            print("error", e, flush=True)
        finally:
            raw.close()


if __name__ == "__main__":
    main()
