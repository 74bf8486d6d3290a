"""Tiny SMTP sink for lab tests (Python 3 standard library only; no smtpd).

Usage: smtp_sink.py ADDR PORT LOGFILE
Answers 220 / 250 / 354 / 221, records every line the client sends (CRLF stripped) to LOGFILE,
and a line "--- closed ---" when a connection ends. Each line is flushed at once.
"""
import socket
import sys


def serve(conn, log):
    f = conn.makefile("rb")

    def send(text):
        conn.sendall(text.encode() + b"\r\n")

    send("220 sink.lab ESMTP ready")
    in_data = False
    while True:
        raw = f.readline(4096)
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        log.write(line + "\n")
        log.flush()
        if in_data:
            if line == ".":
                in_data = False
                send("250 2.0.0 queued")
            continue
        cmd = line.split(" ", 1)[0].upper()
        if cmd in ("HELO", "EHLO"):
            send("250 sink.lab")
        elif line.upper().startswith("MAIL FROM:") or line.upper().startswith("RCPT TO:"):
            send("250 2.1.0 ok")
        elif cmd == "DATA":
            in_data = True
            send("354 end with <CRLF>.<CRLF>")
        elif cmd == "QUIT":
            send("221 2.0.0 bye")
            break
        else:
            send("500 unrecognised")
    log.write("--- closed ---\n")
    log.flush()
    conn.close()


def main():
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    with open(path, "a", encoding="utf-8") as log:
        log.write("--- listening ---\n")
        log.flush()
        while True:
            conn, _ = s.accept()
            try:
                serve(conn, log)
            except OSError:
                conn.close()


if __name__ == "__main__":
    main()
