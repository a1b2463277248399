#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Capture real ClientHellos and check lib/tls against an independent reading.

  tls_capture.py serve PORT_FILE OUT_FILE
      Listen on 127.0.0.1 on a free port (written to PORT_FILE), accept one
      connection, read the client's first bytes until its ClientHello is
      complete by the record and handshake lengths, save them to OUT_FILE and
      close: the client fails its handshake, which is all the test needs.

  tls_capture.py verify HELLO_FILE DUMP_FILE [--sni S | --no-sni]
                 [--alpn a,b] [--version 12|13]
      Parse HELLO_FILE here (standard library only, written from RFC 8446 and
      the JA4 specification, sharing nothing with the C code), compute the
      JA4 here, and compare with DUMP_FILE, the key=value output of
      tls_hello_dump. Then assert what the client was told to send.

Loopback only: nothing leaves 127.0.0.1.
"""
import argparse
import hashlib
import os
import re
import socket
import sys

GREASE = {(b << 8) | b for b in range(0x0A, 0x100, 0x10)}
ALNUM = set(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def hello_complete(data):
    """Handshake message length once the stream holds all of it, else None."""
    msg = b""
    off = 0
    while off + 5 <= len(data):
        rlen = int.from_bytes(data[off + 3:off + 5], "big")
        msg += data[off + 5:off + 5 + rlen]
        off += 5 + rlen
        if len(msg) >= 4 and len(msg) >= 4 + int.from_bytes(msg[1:4], "big"):
            return off
        if off > len(data):
            return None
    return None


def serve(port_file, out_file):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(20)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    # rename so the driver never reads a half-written port
    os.rename(port_file + ".tmp", port_file)
    conn, _ = srv.accept()
    conn.settimeout(5)
    data = b""
    try:
        while hello_complete(data) is None and len(data) < 65536:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    conn.close()
    srv.close()
    with open(out_file, "wb") as f:
        f.write(data)
    return 0 if hello_complete(data) else 1


class Hello:
    """The fields of a ClientHello, read straight from the wire format."""

    def __init__(self, data):
        msg = b""
        off = 0
        while True:
            assert data[off] == 22, "record is not a handshake"
            rlen = int.from_bytes(data[off + 3:off + 5], "big")
            msg += data[off + 5:off + 5 + rlen]
            off += 5 + rlen
            if len(msg) >= 4 and len(msg) == 4 + int.from_bytes(msg[1:4], "big"):
                break
        assert msg[0] == 1, "not a ClientHello"
        self.stream_len = off
        self.hello_len = len(msg)
        b = memoryview(msg)[4:]
        p = 0
        self.legacy_version = int.from_bytes(b[p:p + 2], "big")
        p += 2 + 32
        p += 1 + b[p]
        n = int.from_bytes(b[p:p + 2], "big")
        self.ciphers = [int.from_bytes(b[i:i + 2], "big") for i in range(p + 2, p + 2 + n, 2)]
        p += 2 + n
        p += 1 + b[p]
        self.exts = []
        self.sni = None
        self.alpn = []
        self.versions = None
        self.sig_algs = []
        if p < len(b):
            end = p + 2 + int.from_bytes(b[p:p + 2], "big")
            assert end == len(b)
            p += 2
            while p < end:
                t = int.from_bytes(b[p:p + 2], "big")
                n = int.from_bytes(b[p + 2:p + 4], "big")
                d = bytes(b[p + 4:p + 4 + n])
                self.exts.append(t)
                if t == 0:
                    assert d[2] == 0
                    self.sni = d[5:5 + int.from_bytes(d[3:5], "big")].decode("ascii").lower()
                elif t == 16:
                    q = 2
                    while q < len(d):
                        self.alpn.append(d[q + 1:q + 1 + d[q]])
                        q += 1 + d[q]
                elif t == 43:
                    self.versions = [int.from_bytes(d[i:i + 2], "big") for i in range(1, 1 + d[0], 2)]
                elif t == 13:
                    self.sig_algs = [int.from_bytes(d[i:i + 2], "big") for i in range(2, len(d), 2)]
                p += 4 + n
        if self.versions is None:
            self.versions = [self.legacy_version]

    def highest(self):
        v = [x for x in self.versions if x not in GREASE]
        return max(v) if v else 0

    def ja4(self):
        vmap = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}
        ciphers = [c for c in self.ciphers if c not in GREASE]
        exts = [e for e in self.exts if e not in GREASE]
        a = "t" + vmap.get(self.highest(), "00") + ("d" if 0 in self.exts else "i")
        a += "%02d%02d" % (min(len(ciphers), 99), min(len(exts), 99))
        if not self.alpn or not self.alpn[0]:
            a += "00"
        else:
            v = self.alpn[0]
            if v[0] in ALNUM and v[-1] in ALNUM:
                a += chr(v[0]) + chr(v[-1])
            else:
                h = v.hex()
                a += h[0] + h[-1]

        def h12(s):
            return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "0" * 12

        b = h12(",".join("%04x" % c for c in sorted(ciphers)))
        sorted_exts = sorted(e for e in exts if e not in (0, 16))
        c_in = ",".join("%04x" % e for e in sorted_exts)
        sigs = [s for s in self.sig_algs if s not in GREASE]
        if sigs:
            c_in += "_" + ",".join("%04x" % s for s in sigs)
        c = h12(c_in) if sorted_exts else "0" * 12
        return "%s_%s_%s" % (a, b, c)


def verify(args):
    with open(args.hello, "rb") as f:
        data = f.read()
    with open(args.dump) as f:
        got = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    h = Hello(data)
    want = {
        "result": "ok",
        "ja4": h.ja4(),
        "sni": h.sni or "",
        "sni_ext": "1" if 0 in h.exts else "0",
        "alpn": ",".join(a.decode("latin-1") for a in h.alpn),
        "legacy_version": "%04x" % h.legacy_version,
        "highest_version": "%04x" % h.highest(),
        "versions": ",".join("%04x" % v for v in h.versions),
        "ciphers": ",".join("%04x" % c for c in h.ciphers),
        "sig_algs": ",".join("%04x" % s for s in h.sig_algs),
        "extensions": ",".join("%04x" % e for e in h.exts),
        "hello_len": str(h.hello_len),
        "stream_len": str(h.stream_len),
    }
    fails = ["%s: C says %r, Python says %r" % (k, got.get(k), v)
             for k, v in want.items() if got.get(k) != v]
    if got.get("selfcheck", "ok") != "ok" or got.get("selfcheck_prefixes", "ok") != "ok":
        fails.append("C self-check failed")

    # What the client was asked to send.
    ja4 = got.get("ja4", "")
    if not re.fullmatch(r"t(1[0-3])[di]\d{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}", ja4):
        fails.append("JA4 %r has not the JA4 shape" % ja4)
    if args.version:
        if not ja4.startswith("t" + args.version):
            fails.append("JA4 %r does not start with t%s" % (ja4, args.version))
        if got.get("highest_version") != {"12": "0303", "13": "0304"}[args.version]:
            fails.append("highest_version %r is not TLS %s" % (got.get("highest_version"), args.version))
    if args.sni is not None:
        if got.get("sni") != args.sni.lower() or ja4[3:4] != "d":
            fails.append("SNI %r / JA4 %r, expected %r and 'd'" % (got.get("sni"), ja4, args.sni))
    if args.no_sni:
        if got.get("sni") != "" or ja4[3:4] != "i":
            fails.append("expected no SNI and 'i', got %r / %r" % (got.get("sni"), ja4))
    if args.alpn is not None:
        if got.get("alpn") != args.alpn:
            fails.append("ALPN %r, expected %r" % (got.get("alpn"), args.alpn))
        first = args.alpn.split(",")[0]
        if ja4[8:10] != first[0] + first[-1]:
            fails.append("JA4 ALPN part %r, expected %r" % (ja4[8:10], first[0] + first[-1]))
    counts = "%02d%02d" % (min(len([c for c in h.ciphers if c not in GREASE]), 99),
                           min(len([e for e in h.exts if e not in GREASE]), 99))
    if ja4[4:8] != counts:
        fails.append("JA4 counts %r, expected %r" % (ja4[4:8], counts))

    for f in fails:
        print("FAIL %s: %s" % (args.hello, f), file=sys.stderr)
    if not fails:
        print("ok %s: %s sni=%r alpn=%r versions=%s" % (args.hello, ja4, got.get("sni"),
                                                        got.get("alpn"), got.get("versions")))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port_file")
    s.add_argument("out_file")
    v = sub.add_parser("verify")
    v.add_argument("hello")
    v.add_argument("dump")
    v.add_argument("--sni")
    v.add_argument("--no-sni", action="store_true")
    v.add_argument("--alpn")
    v.add_argument("--version", choices=["12", "13"])
    args = ap.parse_args()
    if args.cmd == "serve":
        return serve(args.port_file, args.out_file)
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
