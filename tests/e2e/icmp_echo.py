#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send ICMP echo requests and wait for the replies: a stand-in for ping(8)
on machines without iputils, so the e2e test needs only python3.

  icmp_echo.py ADDRESS [--count N] [--timeout SECONDS]
Exit 0 when every echo was answered, 1 otherwise. Needs CAP_NET_RAW.
"""
import argparse
import os
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo(sock, dst, ident, seq, timeout):
    payload = b"portcullis-e2e-%04d" % seq
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, seq) + payload
    t0 = time.monotonic()
    sock.sendto(pkt, (dst, 0))
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return None
        data, addr = sock.recvfrom(2048)
        ihl = (data[0] & 0x0F) * 4
        icmp = data[ihl:]
        if addr[0] != dst or len(icmp) < 8:
            continue
        typ, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if typ == 0 and rid == ident and rseq == seq and icmp[8:] == payload:
            return (time.monotonic() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=2.0, help="per echo")
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    answered = 0
    for seq in range(1, a.count + 1):
        rtt = echo(sock, a.dst, ident, seq, a.timeout)
        if rtt is None:
            print("icmp_seq=%d from %s: no reply" % (seq, a.dst))
        else:
            answered += 1
            print("icmp_seq=%d from %s: reply time=%.2f ms" % (seq, a.dst, rtt))
    print("%d sent, %d answered" % (a.count, answered))
    return 0 if answered == a.count else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
