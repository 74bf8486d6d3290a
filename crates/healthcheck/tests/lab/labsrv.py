#!/usr/bin/env python3
"""Lab servers (each prints "ready" once it is listening) for crates/healthcheck/tests/lab.rs (run inside a lab network namespace).

usage: labsrv.py MODE ADDR PORT [ARGS...]
  http ADDR PORT            fixed pages (see PAGES), /status/NNN, /host (the Host header),
                            /proto (the request's HTTP version and Connection header)
  https ADDR PORT CERT KEY  the same over TLS
  blackhole ADDR PORT       accept TCP and never answer
  endless ADDR PORT         200 head, then an endless body
  slowloris ADDR PORT       a status line, then one header byte every 0.3 s, forever
  garbage_tls ADDR PORT     answer anything (a ClientHello) with garbage bytes
  hostile ADDR PORT KIND    a hostile HTTP server: bigheader (a 1 MiB header line),
                            garbage_status, truncated_chunked, invalid_utf8 (a 200 body that is
                            not UTF-8), endless_utf8 (an endless body of invalid UTF-8)
  smtp ADDR PORT [BANNER]   banner (default 220), 250 to HELO, 221 to QUIT
  udp_echo ADDR PORT        echo datagrams
  udp_short ADDR PORT       answer every datagram with b"ok"
  dns_garbage ADDR PORT     answer DNS queries with the query id, QR+NOERROR and 10-40 random bytes
"""
import http.server, os, socket, socketserver, ssl, sys, threading, time, random

PAGES = {
    "/": b"hello from the lab\n",
    "/page2": bytes((i * 7) % 251 for i in range(5000)),
    "/big": b"".join(b"line %06d of the big page\n" % i for i in range(12000)),
    "/empty": b"",
    "/regex": b"".join(b"filler line %05d\n" % i for i in range(20000)) + b"STATUS: all systems nominal\n" + b"tail\n" * 10,
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/chunked":
            # Raw HTTP/1.1 chunked response (keepalived digests the chunk framing too).
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
            self.close_connection = True
            return
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            body = b"status %d\n" % code
        elif self.path == "/proto":
            code = 200
            body = ("%s %s\n" % (self.request_version, self.headers.get("Connection", "-"))).encode()
        elif self.path == "/host":
            code, body = 200, (self.headers.get("Host", "") + "\n").encode()
        elif self.path in PAGES:
            code, body = 200, PAGES[self.path]
        else:
            code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
    daemon_threads = True


def tcp_loop(addr, port, serve):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    print("ready", flush=True)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def udp_loop(addr, port, answer):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        r = answer(data)
        if r is not None:
            s.sendto(r, peer)


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode in ("http", "https"):
        srv = V6Server((addr, port), Handler)
        if mode == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[4], sys.argv[5])
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        print("ready", flush=True)
        srv.serve_forever()
    elif mode == "blackhole":
        tcp_loop(addr, port, lambda c: time.sleep(3600))
    elif mode == "endless":
        def serve(c):
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            chunk = b"x" * 65536
            try:
                while True:
                    c.sendall(chunk)
            except OSError:
                pass
        tcp_loop(addr, port, serve)
    elif mode == "slowloris":
        def serve(c):
            c.recv(4096)
            try:
                c.sendall(b"HTTP/1.0 200 OK\r\n")
                while True:
                    c.sendall(b"X")
                    time.sleep(0.3)
            except OSError:
                pass
        tcp_loop(addr, port, serve)
    elif mode == "garbage_tls":
        def serve(c):
            c.recv(4096)
            try:
                c.sendall(os.urandom(2000))
                time.sleep(1)
            except OSError:
                pass
            c.close()
        tcp_loop(addr, port, serve)
    elif mode == "hostile":
        kind = sys.argv[4]
        def serve(c):
            c.recv(4096)
            try:
                if kind == "bigheader":
                    c.sendall(b"HTTP/1.0 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\nok")
                elif kind == "garbage_status":
                    c.sendall(b"\x00\xffGARBAGE nonsense\r\nContent-Length: 2\r\n\r\nok")
                elif kind == "truncated_chunked":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"ffff\r\npartial chunk")
                    time.sleep(0.2)
                elif kind == "invalid_utf8":
                    c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + bytes(range(128, 256)) * 64 + b"\xff\xfeMARK\xc3")
                elif kind == "endless_utf8":
                    c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
                    while True:
                        c.sendall(b"\xff\xfe\xc3" * 20000)
            except OSError:
                pass
            c.close()
        tcp_loop(addr, port, serve)
    elif mode == "smtp":
        banner = sys.argv[4] if len(sys.argv) > 4 else "220"
        def serve(c):
            f = c.makefile("rb")
            try:
                c.sendall(b"%s lab.test ESMTP ready\r\n" % banner.encode())
                for line in f:
                    cmd = line.strip().upper()
                    if cmd.startswith(b"HELO"):
                        c.sendall(b"250 lab.test hello\r\n")
                    elif cmd == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        break
                    else:
                        c.sendall(b"500 what\r\n")
            except OSError:
                pass
            c.close()
        tcp_loop(addr, port, serve)
    elif mode == "udp_echo":
        udp_loop(addr, port, lambda d: d)
    elif mode == "udp_short":
        udp_loop(addr, port, lambda d: b"ok")
    elif mode == "dns_garbage":
        udp_loop(addr, port, lambda d: d[:2] + bytes([0x81, 0x80]) + os.urandom(random.randint(10, 40)))
    else:
        sys.exit("unknown mode " + mode)


main()
