#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The service behind the gateway in the demo and the end-to-end test.

Answers every method on every path with a small JSON body naming the method
and path, so a client can tell exactly which request reached it, and appends
one JSON line per request it parsed to --log: that log is how the test proves
a denied request never reached the server. It writes --ready once it is
listening and exits by itself after --lifetime seconds, so a test that dies
without cleaning up cannot leave it behind for long.

Standard library only.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading

BODY_NAME = "tickets-backend"


def body_for(method, path):
    """The exact bytes served for (method, path); the e2e test recomputes them."""
    return (json.dumps({"served_by": BODY_NAME, "method": method, "path": path},
                       separators=(",", ":")) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tickets-backend/1"
    log_lock = threading.Lock()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))
        with self.log_lock:
            with open(self.server.request_log, "a") as f:
                f.write(json.dumps({
                    "client": "%s:%d" % self.client_address[:2],
                    "method": self.command,
                    "path": self.path,
                    "host": self.headers.get("Host"),
                }) + "\n")
        body = body_for(self.command, self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        pass  # the request log above is the record; keep stderr for errors


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A connection the gateway reset ends in ECONNRESET here: expected.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--log", required=True, help="request log (JSON lines)")
    ap.add_argument("--ready", help="file created once listening")
    ap.add_argument("--lifetime", type=int, default=600,
                    help="exit after this many seconds (0: never)")
    args = ap.parse_args()

    if args.lifetime > 0:
        signal.alarm(args.lifetime)  # default SIGALRM action ends the process
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    open(args.log, "a").close()
    srv = Server((args.bind, args.port), Handler)
    srv.request_log = args.log
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    srv.serve_forever()


if __name__ == "__main__":
    main()
