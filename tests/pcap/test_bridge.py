#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""pcap suite: replay crafted conversations through portcullis-dataplane.

    test_bridge.py DATAPLANE_BINARY SOURCE_ROOT [--workers 2] [--flows N] [--age]
                   [--stream [--deny-403]]

Port 0 (callers) reads a pcap of TCP conversations from 198.18.1.10 to
198.18.0.2:80 plus some L4 flows, ARP, ICMP and broken frames; port 1
(services) reads an empty pcap. The dataplane runs one worker under
config/policy.sample.json. When the decision log holds every expected record
and the output pcaps have settled, the test sends SIGTERM and checks:

  * the decision log, record by record (action, rule, reason, identity,
    credential, method/host/path, addresses, generation);
  * OUT1 (towards services) holds exactly the frames that should reach the
    server, in order: forwarded frames byte for byte equal to the input, and
    for each denied request the reset sent in the client's name;
  * OUT0 (towards callers) holds exactly one correct reset per denied TCP
    flow (addresses, ports, MACs, VLAN tags, seq/ack, flags, checksums);
  * the counters printed at exit (and the --stats-json file) match, and no
    mbuf is left in use.

With --workers 2 the EAL gets two worker lcores on the machine's two CPUs
and each port two queues, but every frame arrives on queue 0: the flows the
hash gives to worker 1 must cross the hand-off ring, and their frames leave
on worker 1's TX queue. Order then holds within a flow, not across flows, so
outputs and records are compared flow by flow.

With --flows N the flow table holds N flows: the flows after the first N are
refused (fail closed: dropped and counted, no decision, nothing forwarded).
With --age the idle timeout is 1 s and every flow must have aged out before
the stop.

With --stream the conversations are the TCP stream scenarios instead
(build_stream): a head split at every byte boundary, reordered, duplicated
and conflicting segments, pipelined and keep-alive requests with chunked and
Content-Length bodies, a retransmission that would reframe a held body
end, the per-flow hold bound, the head size bound, the hold timeout, a
malformed body and an Upgrade; --deny-403 adds --deny-response 403 and expects each deny's 403
answer, byte for byte, before the client's reset.

Exits 0 on success, 1 on a failed check (every failure is printed, and the
files are kept for a look).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_frames as pf  # noqa: E402

COUNTED_REASONS = {"rule_match", "default_action", "unknown_caller", "api_key_unknown",
                   "tcp_overlap_conflict", "hold_limit", "hold_timeout"}
CLIENT, SERVER, MONITOR = "198.18.1.10", "198.18.0.2", "198.18.1.200"
CLIENT_MAC, SERVER_MAC, MONITOR_MAC = "02:00:00:00:01:0a", "02:00:00:00:00:02", "02:00:00:00:01:c8"
API_KEY = "pc-demo-ticket-agent-key-1"
API_KEY_FP = "ce6e7185989b4c41"  # first 8 bytes of SHA-256(API_KEY), as in the policy
SERVER_ISN = 700000000

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


class Scenario:
    """Input frames for port 0 with, for each, what must come out."""

    def __init__(self, cap=None):
        self.cap = cap       # flow table capacity (one worker), None: plenty
        self.n_flows = 0
        self.in0 = []
        self.out1 = []       # expected on port 1: bytes (exact) or ("rst", spec)
        self.out0 = []       # expected on port 0: ("rst", spec)
        self.records = []    # expected decision records, in order
        self.counts = {}

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    def open_flow(self):
        """A packet that creates a flow: False (and counted) when the table is full."""
        if self.cap is not None and self.n_flows >= self.cap:
            self.count("flow_table_full")
            return False
        self.n_flows += 1
        self.count("flows_created")
        return True

    def add(self, frame, forwarded):
        self.in0.append(frame)
        if forwarded:
            self.out1.append(frame)

    def tcp_frame(self, sport, seq, ack, flags, payload=b"", src=CLIENT, src_mac=CLIENT_MAC,
                  dport=80, vlans=()):
        return pf.eth(SERVER_MAC, src_mac, pf.ETH_IPV4,
                      pf.ipv4(src, SERVER, 6, pf.tcp(src, SERVER, sport, dport, seq, ack, flags,
                                                     payload)),
                      vlans=vlans)

    def http_conversation(self, sport, segments, verdict, vlans=()):
        """SYN, ACK, then the data segments. verdict: None when the first
        segment is allowed, else the deny (resets expected). Returns the next
        client sequence number, or None when the table had no room: then
        the SYN is refused and the rest is mid-stream, all dropped."""
        isn = 1000 * sport
        syn = self.tcp_frame(sport, isn, 0, pf.TCP_SYN, vlans=vlans)
        ack = self.tcp_frame(sport, isn + 1, SERVER_ISN + 1, pf.TCP_ACK, vlans=vlans)
        room = self.open_flow()
        self.add(syn, room)
        self.add(ack, room)
        seq = isn + 1
        if not room:
            self.count("tcp_midstream", 1 + len(segments))
            for seg in segments:
                self.add(self.tcp_frame(sport, seq, SERVER_ISN + 1, pf.TCP_PSH | pf.TCP_ACK, seg,
                                        vlans=vlans), False)
                seq += len(seg)
            return None
        for i, seg in enumerate(segments):
            fr = self.tcp_frame(sport, seq, SERVER_ISN + 1, pf.TCP_PSH | pf.TCP_ACK, seg,
                                vlans=vlans)
            if verdict is None:
                self.add(fr, True)
            else:
                self.add(fr, False)
                self.count("denied_dropped")
                if i == 0:
                    # Reset on to the server in the client's name, and back to the client.
                    self.out1.append(("rst", dict(src=CLIENT, dst=SERVER, sport=sport, dport=80,
                                                  seq=seq, ack=SERVER_ISN + 1,
                                                  src_mac=CLIENT_MAC, dst_mac=SERVER_MAC,
                                                  vlans=list(vlans))))
                    self.out0.append(("rst", dict(src=SERVER, dst=CLIENT, sport=80, dport=sport,
                                                  seq=SERVER_ISN + 1, ack=seq + len(seg),
                                                  src_mac=SERVER_MAC, dst_mac=CLIENT_MAC,
                                                  vlans=list(vlans))))
                    self.count("resets_sent", 2)
            seq += len(seg)
        return seq


def http_get(path, key=True, host="tickets.internal", eol=b"\r\n"):
    head = b"GET " + path.encode() + b" HTTP/1.1" + eol + b"Host: " + host.encode() + eol
    if key:
        head += b"x-api-key: " + API_KEY.encode() + eol
    return head + b"User-Agent: pcap-test" + eol + eol


def build(cap=None):
    s = Scenario(cap)
    rec_base = dict(src=CLIENT, dst=SERVER, dport=80, proto="tcp", generation=1, worker=0)

    # 1. Allowed: ticket-agent reads a ticket; the whole flow passes, FIN included.
    seq = s.http_conversation(40001, [http_get("/api/v2/tickets/42")], None)
    if seq is not None:
        s.add(s.tcp_frame(40001, seq, SERVER_ISN + 1, pf.TCP_FIN | pf.TCP_ACK), True)
        s.records.append(dict(rec_base, sport=40001, action="allow", rule="tickets-read",
                          reason="rule_match", identity="ticket-agent",
                          credential={"kind": "api_key", "fingerprint": API_KEY_FP},
                          method="GET", host="tickets.internal", path="/api/v2/tickets/42"))
        s.count("decisions_allowed")

    # 2. Denied by rule: /admin. The client's later FIN is dropped too.
    seq = s.http_conversation(40002, [http_get("/admin")], "deny")
    if seq is not None:
        s.add(s.tcp_frame(40002, seq, SERVER_ISN + 1, pf.TCP_FIN | pf.TCP_ACK), False)
        s.count("denied_dropped")
        s.records.append(dict(rec_base, sport=40002, action="deny", rule="block-admin",
                              reason="rule_match", identity="ticket-agent",
                              credential={"kind": "api_key", "fingerprint": API_KEY_FP},
                              method="GET", host="tickets.internal", path="/admin"))
        s.count("decisions_denied")

    # 3. A head split across two segments: the first is held until the
    #    second completes the head, then both go on, in order, unchanged.
    head = http_get("/api/v2/tickets/42")
    if s.http_conversation(40003, [head[:40], head[40:]], None) is not None:
        s.records.append(dict(rec_base, sport=40003, action="allow", rule="tickets-read",
                              reason="rule_match", identity="ticket-agent",
                              credential={"kind": "api_key", "fingerprint": API_KEY_FP},
                              method="GET", host="tickets.internal", path="/api/v2/tickets/42"))
        s.count("decisions_allowed")

    # 4. A malformed head (bare LF line ends, RFC 9112 section 2.2).
    if s.http_conversation(40004, [http_get("/api/v2/tickets/42", eol=b"\n")], "deny"):
        s.records.append(dict(rec_base, sport=40004, action="deny", rule=None,
                              reason="http_bare_lf", identity=None, credential=None))
        s.count("decisions_denied")

    # 5. The /admin deny again on VLAN 100: the resets keep the tag.
    if s.http_conversation(40005, [http_get("/admin")], "deny", vlans=(100,)):
        s.records.append(dict(rec_base, sport=40005, action="deny", rule="block-admin",
                              reason="rule_match", identity="ticket-agent",
                              credential={"kind": "api_key", "fingerprint": API_KEY_FP},
                              method="GET", host="tickets.internal", path="/admin"))
        s.count("decisions_denied")

    # 6. ARP both ways of asking: bridged untouched.
    s.add(pf.arp_request(CLIENT_MAC, CLIENT, SERVER), True)
    s.add(pf.arp_request(MONITOR_MAC, MONITOR, SERVER), True)
    s.count("bridged_non_ip", 2)

    # 7. ICMP echo: bridged.
    s.add(pf.eth(SERVER_MAC, CLIENT_MAC, pf.ETH_IPV4,
                 pf.ipv4(CLIENT, SERVER, 1, pf.icmp_echo(7, 1))), True)
    s.count("bridged_icmp")

    # 8. L4: ssh from the ticket agent's host is not allowed: the SYN is
    #    dropped and answered with a reset (seq 0, ack ISN+1).
    s.add(s.tcp_frame(40006, 6000, 0, pf.TCP_SYN, dport=22), False)
    if s.open_flow():
        s.out0.append(("rst", dict(src=SERVER, dst=CLIENT, sport=22, dport=40006, seq=0,
                                   ack=6001, src_mac=SERVER_MAC, dst_mac=CLIENT_MAC, vlans=[])))
        s.count("resets_sent")
        s.count("denied_dropped")
        s.count("decisions_denied")
        s.records.append(dict(rec_base, sport=40006, dport=22, action="deny", rule=None,
                              reason="unknown_caller", identity=None, credential=None))

    # 9. L4: ssh from the monitoring host is allowed (rule ops-ssh).
    room = s.open_flow()
    s.add(s.tcp_frame(40007, 7000, 0, pf.TCP_SYN, src=MONITOR, src_mac=MONITOR_MAC, dport=22),
          room)
    if room:
        s.count("decisions_allowed")
        s.records.append(dict(rec_base, src=MONITOR, sport=40007, dport=22, action="allow",
                              rule="ops-ssh", reason="rule_match", identity="monitoring",
                              credential={"kind": "source",
                                          "fingerprint": hashlib.sha256(
                                              pf.ip4(MONITOR)).hexdigest()[:16]}))

    # 10. L4: UDP to a port no destination names: both datagrams dropped,
    #     one decision. Without room, each datagram is refused on its own.
    room = False
    for i in range(2):
        s.add(pf.eth(SERVER_MAC, CLIENT_MAC, pf.ETH_IPV4,
                     pf.ipv4(CLIENT, SERVER, 17, pf.udp(CLIENT, SERVER, 40008, 53, b"q%d" % i))),
              False)
        if room or s.open_flow():
            s.count("denied_dropped")
            if not room:
                room = True
                s.count("decisions_denied")
                s.records.append(dict(rec_base, sport=40008, dport=53, proto="udp",
                                      action="deny", rule=None, reason="unknown_caller",
                                      identity=None, credential=None))

    # 11. Mid-stream TCP to the inspected port (no SYN): dropped, no flow.
    s.add(s.tcp_frame(40009, 9000, 1, pf.TCP_PSH | pf.TCP_ACK, http_get("/api/v2/tickets/1")),
          False)
    s.count("tcp_midstream")

    # 12. A bad IPv4 header checksum: dropped by the decoder.
    s.add(pf.eth(SERVER_MAC, CLIENT_MAC, pf.ETH_IPV4,
                 pf.ipv4(CLIENT, SERVER, 17, pf.udp(CLIENT, SERVER, 40010, 53, b"x"),
                         bad_csum=True)), False)
    s.count("ipv4_bad_checksum")

    s.count("rx", len(s.in0))
    s.count("tx", len(s.out0) + len(s.out1))
    return s


# ---- stream mode: reassembly, keep-alive and pipelining (--stream) ----

AGENT = dict(identity="ticket-agent", credential={"kind": "api_key", "fingerprint": API_KEY_FP})
NOBODY = dict(rule=None, identity=None, credential=None)


def http_req(method, path, extra=b"", key=True):
    head = method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: tickets.internal\r\n"
    if key:
        head += b"x-api-key: " + API_KEY.encode() + b"\r\n"
    return head + extra + b"\r\n"


def body_403(reason, rule):
    body = '{"error":"forbidden","reason":"%s","rule":%s}\n' % (
        reason, "null" if rule is None else '"%s"' % rule)
    return ("HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)).encode()


class Stream:
    """One client connection of a stream scenario, with its expectations."""

    def __init__(self, s, sport, deny_403, vlans=()):
        self.s, self.sport, self.deny_403, self.vlans = s, sport, deny_403, vlans
        self.isn = 1000 * sport
        self.next = self.isn + 1
        self.fwd = self.isn + 1   # what the server has been sent
        s.n_flows += 1
        s.count("flows_created")
        s.add(self.frame(self.isn, pf.TCP_SYN), True)
        s.add(self.frame(self.next, pf.TCP_ACK), True)
        self.denied = False

    def frame(self, seq, flags, payload=b""):
        ack = 0 if flags == pf.TCP_SYN else SERVER_ISN + 1
        return self.s.tcp_frame(self.sport, seq, ack, flags, payload, vlans=self.vlans)

    def seg(self, payload, seq=None):
        """A data frame, in input only; the caller says what comes out."""
        if seq is None:
            seq = self.next
            self.next += len(payload)
        fr = self.frame(seq, pf.TCP_PSH | pf.TCP_ACK, payload)
        self.s.in0.append(fr)
        if self.denied:
            self.s.count("denied_dropped")
        return fr

    def out(self, *frames):
        for fr in frames:
            self.s.out1.append(fr)
            self.fwd = max(self.fwd, pf.Decoded(fr).seq + len(pf.Decoded(fr).payload))

    def record(self, action, method=None, path=None, **kw):
        rec = dict(src=CLIENT, dst=SERVER, dport=80, proto="tcp", generation=1, worker=0,
                   sport=self.sport, action=action)
        if method is not None:
            rec.update(method=method, host="tickets.internal", path=path)
        rec.update(kw)
        self.s.records.append(rec)
        verb = "allowed" if action == "allow" else "denied"
        self.s.count("decisions_" + verb)
        # Reasons the log names as their counter does (the others name a
        # detail, e.g. http_bare_lf for an http_malformed decision).
        if kw.get("reason") in COUNTED_REASONS:
            self.s.count("decisions_%s_%s" % (verb, kw["reason"]))

    def deny(self, trigger, reason, rule, dropped):
        """The resets (and 403) a deny sends, trigger the frame that decided."""
        d = pf.Decoded(trigger)
        s = self.s
        s.out1.append(("rst", dict(src=CLIENT, dst=SERVER, sport=self.sport, dport=80,
                                   seq=self.fwd, ack=SERVER_ISN + 1, src_mac=CLIENT_MAC,
                                   dst_mac=SERVER_MAC, vlans=list(self.vlans))))
        seq = SERVER_ISN + 1
        ack = d.seq + len(d.payload)
        if self.deny_403:
            payload = body_403(reason, rule)
            s.out0.append(("403", dict(src=SERVER, dst=CLIENT, sport=80, dport=self.sport,
                                       seq=seq, ack=ack, src_mac=SERVER_MAC, dst_mac=CLIENT_MAC,
                                       vlans=list(self.vlans), payload=payload)))
            s.count("deny_responses_sent")
            seq += len(payload) + 1
        s.out0.append(("rst", dict(src=SERVER, dst=CLIENT, sport=80, dport=self.sport,
                                   seq=seq, ack=ack, src_mac=SERVER_MAC, dst_mac=CLIENT_MAC,
                                   vlans=list(self.vlans))))
        s.count("resets_sent", 2)
        s.count("denied_dropped", dropped)
        self.denied = True


def build_stream(deny_403):
    s = Scenario()
    ok_get = http_get("/api/v2/tickets/42")
    allow_get = dict(rule="tickets-read", reason="rule_match", **AGENT)

    # 1. A head split at every byte boundary: one connection per split point.
    #    The first part is held until the second completes the head; then
    #    both go on in order, unchanged.
    for k in range(1, len(ok_get)):
        c = Stream(s, 41000 + k, deny_403)
        a, b = c.seg(ok_get[:k]), c.seg(ok_get[k:])
        c.out(a, b)
        c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
        s.count("held", 2)
        s.count("hold_released", 2)

    # 2. Reordered: the third part first, then the first, then the second.
    c = Stream(s, 40101, deny_403)
    p1, p2, p3 = ok_get[:30], ok_get[30:60], ok_get[60:]
    f1 = c.frame(c.next, pf.TCP_PSH | pf.TCP_ACK, p1)
    f2 = c.frame(c.next + 30, pf.TCP_PSH | pf.TCP_ACK, p2)
    f3 = c.frame(c.next + 60, pf.TCP_PSH | pf.TCP_ACK, p3)
    c.next += len(ok_get)
    s.in0 += [f3, f1, f2]
    c.out(f1, f2, f3)  # released in sequence order
    c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
    s.count("held", 3)
    s.count("hold_released", 3)
    s.count("tcp_out_of_order")

    # 3. Duplicated: the first part twice while held (the copy is dropped),
    #    and again after the allow (bytes already sent: it goes on).
    c = Stream(s, 40102, deny_403)
    start = c.next
    a = c.seg(ok_get[:25])
    c.seg(ok_get[:25], seq=start)
    s.count("tcp_retransmit_dropped")
    b = c.seg(ok_get[25:])
    again = c.seg(ok_get[:25], seq=start)
    c.out(a, b, again)
    c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
    s.count("held", 2)
    s.count("hold_released", 2)
    s.count("tcp_retransmit_passed")

    # 4. An overlap with different bytes: "/admin" over held "/api/v".
    c = Stream(s, 40103, deny_403)
    start = c.next
    c.seg(ok_get[:40])
    evil = c.seg(http_get("/admin/x/y/zzzzzzzz")[:40], seq=start)
    s.count("held")
    s.count("tcp_overlap_conflict")
    c.record("deny", reason="tcp_overlap_conflict", **NOBODY)
    c.deny(evil, "tcp_overlap_conflict", None, 2)
    c.seg(ok_get[40:])  # the rest: dropped

    # 5. Three pipelined requests in one segment, allowed, denied, allowed:
    #    the segment carries a denied request, so none of it goes on, and
    #    the third is never decided.
    c = Stream(s, 40104, deny_403)
    seg = c.seg(ok_get + http_get("/admin") + http_get("/api/v2/tickets"))
    c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
    c.record("deny", "GET", "/admin", rule="block-admin", reason="rule_match", **AGENT)
    c.deny(seg, "rule_match", "block-admin", 1)
    s.count("held")
    s.count("requests_pipelined")

    # 6. Two allowed requests pipelined in one segment, then a denied third
    #    on the kept-alive connection.
    c = Stream(s, 40105, deny_403)
    x = c.seg(ok_get + http_get("/api/v2/tickets"))
    c.out(x)
    c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
    c.record("allow", "GET", "/api/v2/tickets", **allow_get)
    y = c.seg(http_get("/admin"))
    c.record("deny", "GET", "/admin", rule="block-admin", reason="rule_match", **AGENT)
    c.deny(y, "rule_match", "block-admin", 1)
    s.count("held", 2)
    s.count("hold_released", 1)
    s.count("requests_pipelined")

    # 7. A chunked body with chunk extensions and a trailer, the next
    #    request in the segment that ends it.
    c = Stream(s, 40106, deny_403)
    post = http_req("POST", "/api/v2/tickets/7/comments",
                    b"x-agent-purpose: triage\r\nTransfer-Encoding: chunked\r\n")
    h = c.seg(post)
    b1 = c.seg(b"5;ext=1\r\nhello\r\n")
    b2 = c.seg(b'6;name="quoted value"\r\n world\r\n0\r\nX-Trailer: v\r\n\r\n' +
               http_get("/api/v2/tickets/8"))
    c.out(h, b1, b2)
    c.record("allow", "POST", "/api/v2/tickets/7/comments", rule="tickets-triage",
             reason="rule_match", **AGENT)
    c.record("allow", "GET", "/api/v2/tickets/8", **allow_get)
    s.count("held", 2)
    s.count("hold_released", 2)
    s.count("requests_pipelined")

    # 8. A Content-Length body over two segments, the head with its first
    #    bytes, the next head after its last.
    c = Stream(s, 40107, deny_403)
    post = http_req("POST", "/api/v2/tickets/9/comments",
                    b"x-agent-purpose: summarize\r\nContent-Length: 10\r\n")
    h = c.seg(post + b"0123")
    t = c.seg(b"456789" + http_get("/api/v2/tickets/9"))
    c.out(h, t)
    c.record("allow", "POST", "/api/v2/tickets/9/comments", rule="tickets-triage",
             reason="rule_match", **AGENT)
    c.record("allow", "GET", "/api/v2/tickets/9", **allow_get)
    s.count("held", 2)
    s.count("hold_released", 2)
    s.count("requests_pipelined")

    # 9. Keep-alive: the first request allowed, the second denied; the
    #    server gets a reset at exactly the end of the first. The client's
    #    FIN after that is dropped.
    c = Stream(s, 40108, deny_403, vlans=(100,))
    first = c.seg(ok_get)
    c.out(first)
    c.record("allow", "GET", "/api/v2/tickets/42", **allow_get)
    second = c.seg(http_get("/admin"))
    c.record("deny", "GET", "/admin", rule="block-admin", reason="rule_match", **AGENT)
    c.deny(second, "rule_match", "block-admin", 1)
    s.in0.append(c.frame(c.next, pf.TCP_FIN | pf.TCP_ACK))
    s.count("denied_dropped")
    s.count("held", 2)
    s.count("hold_released", 1)

    # 10. A head dribbled one byte per segment: 32 are held, the 33rd is
    #     past the per-flow bound and the request is denied.
    c = Stream(s, 40109, deny_403)
    for i in range(32):
        c.seg(ok_get[i:i + 1])
    last = c.seg(ok_get[32:33])
    c.record("deny", reason="hold_limit", **NOBODY)
    c.deny(last, "hold_limit", None, 33)
    s.count("held", 32)
    s.count("hold_limit")

    # 11. A chunked body with an invalid chunk size: the body segment is
    #     denied where it stands; the allowed head went on before it.
    c = Stream(s, 40110, deny_403)
    h = c.seg(http_req("POST", "/api/v2/tickets/3/comments",
                       b"x-agent-purpose: triage\r\nTransfer-Encoding: chunked\r\n"))
    c.out(h)
    c.record("allow", "POST", "/api/v2/tickets/3/comments", rule="tickets-triage",
             reason="rule_match", **AGENT)
    bad = c.seg(b"zz\r\nhello\r\n")
    c.record("deny", reason="http_body_malformed", **NOBODY)
    c.deny(bad, "http_body_malformed", None, 1)
    s.count("held")
    s.count("hold_released")

    # 12. An allowed request asking to Upgrade: what follows would not be
    #     HTTP/1.1 this gateway can frame, so it is denied.
    c = Stream(s, 40111, deny_403)
    up = c.seg(http_req("GET", "/api/v2/tickets/5",
                        b"Connection: Upgrade\r\nUpgrade: websocket\r\n"))
    c.record("deny", "GET", "/api/v2/tickets/5", reason="http_upgrade_not_inspectable",
             **NOBODY)
    c.deny(up, "http_upgrade_not_inspectable", None, 1)
    s.count("held")

    # 13. The end of an allowed body shares a segment with the start of the
    #     next head, so that segment waits; a retransmission of just the
    #     body's end with other bytes would reach the server first and
    #     reframe the stream: it is an overlap conflict.
    c = Stream(s, 40112, deny_403)
    post = http_req("POST", "/api/v2/tickets/4/comments",
                    b"x-agent-purpose: triage\r\nContent-Length: 10\r\n")
    h = c.seg(post + b"0123")
    c.out(h)
    c.record("allow", "POST", "/api/v2/tickets/4/comments", rule="tickets-triage",
             reason="rule_match", **AGENT)
    start = c.next
    c.seg(b"456789" + ok_get[:20])
    evil = c.seg(b"4567xx", seq=start)
    c.record("deny", reason="tcp_overlap_conflict", **NOBODY)
    c.deny(evil, "tcp_overlap_conflict", None, 2)
    s.count("held", 2)
    s.count("hold_released")
    s.count("tcp_overlap_conflict")

    # 14. A head that grows past 16 KiB (PC_HTTP_MAX_HEAD, the default
    #     --max-head-bytes) without ending: denied on the segment that
    #     crosses the bound, and none of it reaches the server.
    c = Stream(s, 40113, deny_403)
    big = b"GET /api/v2/tickets/1 HTTP/1.1\r\nHost: tickets.internal\r\n"
    while len(big) < 17000:
        big += b"x-pad-%05d: %s\r\n" % (len(big), b"a" * 1000)
    parts = [big[i:i + 1400] for i in range(0, len(big), 1400)]
    n_parts = next(i + 1 for i in range(len(parts))
                   if sum(map(len, parts[:i + 1])) >= 16384)
    for part in parts[:n_parts - 1]:
        c.seg(part)
    crossing = c.seg(parts[n_parts - 1])
    c.record("deny", reason="http_head_too_large", **NOBODY)
    c.deny(crossing, "http_head_too_large", None, n_parts)
    s.count("held", n_parts)

    # 15. A body with a lost segment: what follows the gap is held up to
    #     the per-flow bound (32) and dropped beyond it; the gap, when it
    #     comes, takes the place of the furthest held segment, and the held
    #     run goes on in order. The client's retransmissions of the dropped
    #     ones then pass in order, and the next request is decided.
    c = Stream(s, 40114, deny_403)
    body = bytes(range(48, 48 + 41)) * 100
    h = c.seg(http_req("POST", "/api/v2/tickets/6/comments",
                       b"x-agent-purpose: triage\r\nContent-Length: %d\r\n" % len(body)))
    c.out(h)
    c.record("allow", "POST", "/api/v2/tickets/6/comments", rule="tickets-triage",
             reason="rule_match", **AGENT)
    start = c.next
    chunks = [body[i:i + 100] for i in range(0, len(body), 100)]
    frames = [c.frame(start + 100 * i, pf.TCP_PSH | pf.TCP_ACK, ch) for i, ch in enumerate(chunks)]
    c.next += len(body)
    s.in0 += frames[1:]          # 2..41: 32 held, 8 dropped
    s.in0.append(frames[0])      # the gap: frame 33 gives way
    c.out(*frames[:32])
    s.in0 += frames[32:]         # retransmitted: in order now
    c.out(*frames[32:])
    tail = c.seg(http_get("/api/v2/tickets/6"))
    c.out(tail)
    c.record("allow", "GET", "/api/v2/tickets/6", **allow_get)
    s.count("held", 1 + 33 + 1)
    s.count("hold_released", 1 + 32 + 1)
    s.count("hold_limit", 9)
    s.count("tcp_out_of_order", 32)

    # 16. A head that stops halfway and never completes: the sweep denies it
    #     once --hold-timeout (1 s here) has passed, resetting both ends from
    #     the held segment. Last, since its decision comes a second later.
    c = Stream(s, 40116, deny_403)
    half = c.seg(ok_get[:20])
    c.record("deny", reason="hold_timeout", **NOBODY)
    c.deny(half, "hold_timeout", None, 1)
    s.count("held")
    s.count("hold_timeout")

    s.count("rx", len(s.in0))
    s.count("tx", len(s.out0) + len(s.out1))
    return s


def check_403(frame, spec, where):
    d = pf.Decoded(frame)
    if not check(d.ethertype == pf.ETH_IPV4 and d.proto == 6, "%s: not IPv4 TCP" % where):
        return
    check(d.dst_mac == pf.mac(spec["dst_mac"]) and d.src_mac == pf.mac(spec["src_mac"]),
          "%s: MACs" % where)
    check([v & 0x0FFF for v in d.vlans] == spec["vlans"], "%s: VLANs %s" % (where, d.vlans))
    check(d.ip_csum_ok and d.l4_csum_ok, "%s: bad checksum" % where)
    check((d.src, d.dst, d.sport, d.dport) == (spec["src"], spec["dst"], spec["sport"],
                                               spec["dport"]), "%s: addressing" % where)
    check(d.seq == spec["seq"], "%s: seq %d, expected %d" % (where, d.seq, spec["seq"]))
    check(d.ack == spec["ack"], "%s: ack %d, expected %d" % (where, d.ack, spec["ack"]))
    check(d.flags == pf.TCP_PSH | pf.TCP_ACK | pf.TCP_FIN,
          "%s: flags 0x%02x, expected PSH|ACK|FIN" % (where, d.flags))
    check(d.payload == spec["payload"], "%s: payload %r, expected %r"
          % (where, d.payload, spec["payload"]))


def check_rst(frame, spec, where):
    d = pf.Decoded(frame)
    ok = check(d.ethertype == pf.ETH_IPV4, "%s: not IPv4" % where)
    if not ok:
        return
    check(d.dst_mac == pf.mac(spec["dst_mac"]) and d.src_mac == pf.mac(spec["src_mac"]),
          "%s: MACs %s -> %s" % (where, d.src_mac.hex(":"), d.dst_mac.hex(":")))
    check([v & 0x0FFF for v in d.vlans] == spec["vlans"],
          "%s: VLANs %s, expected %s" % (where, d.vlans, spec["vlans"]))
    check(d.version == 4 and d.ihl == 20 and d.proto == 6 and d.total_len == 40,
          "%s: IPv4 header (version %d, ihl %d, proto %d, length %d)"
          % (where, d.version, d.ihl, d.proto, d.total_len))
    check(d.ip_csum_ok, "%s: bad IPv4 header checksum" % where)
    check((d.src, d.dst) == (spec["src"], spec["dst"]),
          "%s: addresses %s -> %s" % (where, d.src, d.dst))
    check((d.sport, d.dport) == (spec["sport"], spec["dport"]),
          "%s: ports %d -> %d" % (where, d.sport, d.dport))
    check(d.seq == spec["seq"], "%s: seq %d, expected %d" % (where, d.seq, spec["seq"]))
    check(d.ack == spec["ack"], "%s: ack %d, expected %d" % (where, d.ack, spec["ack"]))
    check(d.flags == pf.TCP_RST | pf.TCP_ACK,
          "%s: flags 0x%02x, expected RST|ACK" % (where, d.flags))
    check(d.l4_csum_ok, "%s: bad TCP checksum" % where)
    check(len(d.payload) == 0, "%s: reset carries payload" % where)


def check_port_output(frames, expected, port):
    check(len(frames) == len(expected),
          "OUT%d: %d frames, expected %d" % (port, len(frames), len(expected)))
    for i, (got, exp) in enumerate(zip(frames, expected)):
        where = "OUT%d frame %d" % (port, i)
        if isinstance(exp, bytes):
            check(got == exp, "%s: differs from the input frame (%s... vs %s...)"
                  % (where, got[:60].hex(), exp[:60].hex()))
        elif exp[0] == "403":
            check_403(got, exp[1], where + " (403)")
        else:
            check_rst(got, exp[1], where + " (reset)")


def flow_key(frame):
    """The flow a frame belongs to, direction-free; None when it has none."""
    d = pf.Decoded(frame)
    if d.ethertype != pf.ETH_IPV4 or d.proto not in (6, 17):
        return None
    if d.proto == 6:
        sport, dport = d.sport, d.dport
    else:
        sport, dport = struct.unpack("!HH", d.l4[:4])
    a, b = (d.src, sport), (d.dst, dport)
    return (d.proto,) + (a + b if a <= b else b + a)


def check_port_output_by_flow(files, expected, port):
    """files: the frames of each TX queue. Every flow's frames must all have
    left through one queue, in the expected order."""
    total = sum(len(f) for f in files)
    check(total == len(expected), "OUT%d: %d frames, expected %d" % (port, total, len(expected)))

    def exp_key(e):
        if isinstance(e, bytes):
            return flow_key(e)
        a, b = sorted([(e[1]["src"], e[1]["sport"]), (e[1]["dst"], e[1]["dport"])])
        return (6,) + a + b

    want = {}
    for e in expected:
        want.setdefault(exp_key(e), []).append(e)
    for key, exp in want.items():
        where = "OUT%d flow %s" % (port, key)
        homes = [q for q, f in enumerate(files) if any(flow_key(fr) == key for fr in f)]
        if key is not None:
            check(len(homes) == 1,
                  "%s: frames on TX queues %s, expected one queue" % (where, homes))
        got = [fr for f in files for fr in f if flow_key(fr) == key]
        check(len(got) == len(exp), "%s: %d frames, expected %d" % (where, len(got), len(exp)))
        if key is None:
            got, exp = sorted(got), sorted(exp)
        for i, (g, e) in enumerate(zip(got, exp)):
            if isinstance(e, bytes):
                check(g == e, "%s frame %d: differs from the input frame" % (where, i))
            elif e[0] == "403":
                check_403(g, e[1], "%s frame %d (403)" % (where, i))
            else:
                check_rst(g, e[1], "%s frame %d (reset)" % (where, i))


TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def check_records(lines, expected, workers):
    check(len(lines) == len(expected),
          "decision log: %d records, expected %d" % (len(lines), len(expected)))
    if workers > 1:
        # One ring per worker: order holds per worker only. Match by flow.
        def sport(line):
            try:
                return json.loads(line).get("sport", 0)
            except ValueError:
                return 0
        lines = sorted(lines, key=sport)
        expected = sorted((dict(e) for e in expected), key=lambda e: e["sport"])
        for e in expected:
            del e["worker"]
        seen = set()
        for line in lines:
            try:
                seen.add(json.loads(line).get("worker"))
            except ValueError:
                pass
        check(seen <= set(range(workers)), "decision log: workers %s" % sorted(seen))
        check(len(seen) == workers, "decision log: only workers %s decided" % sorted(seen))
    for i, (line, exp) in enumerate(zip(lines, expected)):
        where = "decision record %d (sport %s)" % (i, exp.get("sport"))
        try:
            rec = json.loads(line)
        except ValueError as e:
            check(False, "%s: not JSON (%s): %r" % (where, e, line))
            continue
        check(TIME_RE.match(rec.get("time", "")) is not None,
              "%s: time %r" % (where, rec.get("time")))
        for k, v in exp.items():
            got = rec.get(k, "<absent>")
            check(got == v, "%s: %s = %r, expected %r" % (where, k, got, v))
        http = "method" in exp
        for k in ("method", "host", "path"):
            check((k in rec) == http,
                  "%s: key %s %s" % (where, k, "missing" if http else "present"))
        for k in ("identity", "rule", "credential"):
            check(k in rec, "%s: key %s missing (must be null when absent)" % (where, k))


def wait_for(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def read_text(path):
    """The file's text, "" when it does not exist (yet)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def run_dataplane(cmd, paths, prefix, done, settle=0.5, on_ready=None, label=""):
    """Run the dataplane command on its pcaps, stdout and stderr into
    paths["stdout"] and paths["stderr"]: wait for its ready line, then until
    done() (30 s at most), give what should not come out `settle` seconds
    to come out anyway, and stop it with SIGTERM. It must exit 0 with no
    sanitizer report. Returns False when it did not start. Kills it if need
    be and removes the EAL's runtime directory (prefix) in any case."""
    def text(name):
        return read_text(paths[name])

    print("running:", " ".join(cmd))
    out, err = open(paths["stdout"], "w"), open(paths["stderr"], "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    try:
        ready = wait_for(lambda: "ready:" in text("stdout") or proc.poll() is not None, 30)
        if proc.poll() is not None or not ready:
            what = "%sdataplane did not start (exit %s)\n%s" % (label, proc.poll(),
                                                                 text("stderr"))
            print(what)
            check(False, what)
            return False
        if on_ready is not None:
            on_ready(text("stdout"))
        wait_for(done, 30)
        time.sleep(settle)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
        # The EAL leaves its runtime directory behind; it is ours to remove.
        shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
    check(rc == 0, "%sexit status %s after SIGTERM" % (label, rc))
    # In a developer_mode build the sanitizers report here.
    for marker in ("runtime error:", "AddressSanitizer", "LeakSanitizer"):
        check(marker not in text("stderr"),
              "%sstderr holds a sanitizer report (%s)" % (label, marker))
    return True


def main():
    ap = argparse.ArgumentParser(description="pcap replay test of portcullis-dataplane")
    ap.add_argument("binary")
    ap.add_argument("srcdir")
    ap.add_argument("--workers", type=int, choices=(1, 2), default=1)
    ap.add_argument("--flows", type=int, help="flow table capacity (one worker only)")
    ap.add_argument("--age", action="store_true",
                    help="run with a 1 s idle timeout and expect every flow aged out")
    ap.add_argument("--stream", action="store_true",
                    help="the TCP stream scenarios: split, reordered, duplicated and "
                    "overlapping segments, keep-alive, pipelining, bodies, hold bounds")
    ap.add_argument("--deny-403", action="store_true",
                    help="with --stream: run with --deny-response 403")
    a = ap.parse_args()
    binary, srcdir, workers = a.binary, a.srcdir, a.workers
    if a.flows is not None and workers != 1:
        ap.error("--flows needs one worker: the split of flows between workers is the hash's")
    policy = os.path.join(srcdir, "config", "policy.sample.json")
    s = build_stream(a.deny_403) if a.stream else build(a.flows)
    extra = []
    if a.deny_403:
        extra += ["--deny-response", "403"]
    if a.stream:
        # A small table, so the aging sweep (which expires holds) passes
        # every slot within a second or so.
        extra += ["--hold-timeout", "1", "--flows", "256"]
    if a.flows is not None:
        extra += ["--flows", str(a.flows)]
    if a.age:
        extra += ["--flow-idle-timeout", "300,1"]

    tmp = tempfile.mkdtemp(prefix="pc-pcap-")
    prefix = "pc-pcap-bridge-%d" % os.getpid()
    paths = {k: os.path.join(tmp, k) for k in
             ("decisions.jsonl", "stats.json", "stdout", "stderr")}
    # Queue q of port p reads in<p>.<q>.pcap and writes out<p>.<q>.pcap.
    for p in range(2):
        for q in range(workers):
            paths["in%d.%d" % (p, q)] = os.path.join(tmp, "in%d.%d.pcap" % (p, q))
            paths["out%d.%d" % (p, q)] = os.path.join(tmp, "out%d.%d.pcap" % (p, q))
            pf.write_pcap(paths["in%d.%d" % (p, q)], s.in0 if (p, q) == (0, 0) else [])
    # Two CPUs: with two workers, worker 2 shares CPU 0 with the main lcore.
    lcores = ["-l", "0,1"] if workers == 1 else ["--lcores", "0@0,1@1,2@0"]
    vdevs = []
    for p in range(2):
        qs = ",".join("rx_pcap=%s,tx_pcap=%s"
                      % (paths["in%d.%d" % (p, q)], paths["out%d.%d" % (p, q)])
                      for q in range(workers))
        vdevs += ["--vdev", "net_pcap%d,%s" % (p, qs)]
    cmd = [binary] + lcores + ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix] + \
        vdevs + ["--", "--policy", policy, "--decision-log", paths["decisions.jsonl"],
                 "--stats-json", paths["stats.json"]] + extra

    def outputs(p):
        return [pf.read_pcap(paths["out%d.%d" % (p, q)]) for q in range(workers)]

    def read(name):
        with open(paths[name]) as f:
            return f.read()

    def log_lines():
        try:
            return [ln for ln in read("decisions.jsonl").splitlines() if ln.strip()]
        except FileNotFoundError:
            return []

    def ready_line(stdout):
        check(re.search(r"^portcullis-dataplane: ready: %d workers, ports 0 and 1$" % workers,
                        stdout, re.M) is not None, "ready line: %r" % stdout)

    # With --age, let the idle timeout (1 s) and a sweep pass before the
    # stop. None of the flows is established (the server never answers),
    # so the short timeout applies to all of them.
    if not run_dataplane(cmd, paths, prefix,
                         lambda: len(log_lines()) >= len(s.records)
                         and sum(map(len, outputs(1))) >= len(s.out1)
                         and sum(map(len, outputs(0))) >= len(s.out0),
                         settle=3.0 if a.age else 0.5, on_ready=ready_line):
        return 1
    check_records(log_lines(), s.records, workers)
    if workers == 1:
        check_port_output(outputs(1)[0], s.out1, 1)
        check_port_output(outputs(0)[0], s.out0, 0)
    else:
        check_port_output_by_flow(outputs(1), s.out1, 1)
        check_port_output_by_flow(outputs(0), s.out0, 0)

    printed = {}
    for line in read("stdout").splitlines():
        m = re.match(r"^([a-z0-9_]+) (\d+)$", line)
        if m:
            printed[m.group(1)] = int(m.group(2))
    try:
        stats = json.loads(read("stats.json"))
    except (FileNotFoundError, ValueError) as e:
        stats = {}
        check(False, "--stats-json: %s" % e)
    zero = ("tx_full", "decision_log_lost", "mbuf_alloc_failed", "handoff_dropped",
            "tcp_syn_with_data")
    s.counts.setdefault("flow_table_full", 0)
    s.counts["flows_aged"] = s.counts["flows_created"] if a.age else 0
    if workers == 1:
        zero += ("handoff_enqueued", "handoff_received")
    else:
        check(printed.get("handoff_enqueued", 0) > 0, "no packet was handed off")
        check(printed.get("handoff_enqueued") == printed.get("handoff_received"),
              "handed off %s, received %s" % (printed.get("handoff_enqueued"),
                                             printed.get("handoff_received")))
    for name in zero:
        check(printed.get(name) == 0, "counter %s = %s, expected 0" % (name, printed.get(name)))
    for name, want in sorted(s.counts.items()):
        check(printed.get(name) == want,
              "counter %s = %s, expected %d" % (name, printed.get(name), want))
    check(printed.get("mbufs_in_use") == 0,
          "mbufs_in_use = %s at exit" % printed.get("mbufs_in_use"))
    for name, v in printed.items():
        if name not in ("mbufs_in_use", "dlp_streams_in_use"):
            check(stats.get(name) == v,
                  "--stats-json %s = %s, stdout says %d" % (name, stats.get(name), v))

    if failures:
        print("FAILED checks:")
        for f in failures:
            print("  " + f)
        print("--- stdout\n%s--- stderr\n%s--- decision log\n%s" % (read("stdout"), read("stderr"),
                                                                    "\n".join(log_lines())))
        print("files kept in", tmp)
        return 1
    print("ok: %d frames in, %d to services, %d resets to callers, %d decisions"
          % (len(s.in0), len(s.out1), len(s.out0), len(s.records)))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
