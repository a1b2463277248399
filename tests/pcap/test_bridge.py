#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""pcap suite: replay crafted conversations through portcullis-dataplane.

    test_bridge.py DATAPLANE_BINARY SOURCE_ROOT [--workers 2] [--flows N] [--age]

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

    # 3. A head split across two segments: denied on the first, and the
    #    second never reaches the server.
    head = http_get("/api/v2/tickets/42")
    if s.http_conversation(40003, [head[:40], head[40:]], "deny") is not None:
        s.records.append(dict(rec_base, sport=40003, action="deny", rule=None,
                              reason="http_head_not_in_first_segment", identity=None,
                              credential=None))
        s.count("decisions_denied")

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


def main():
    ap = argparse.ArgumentParser(description="pcap replay test of portcullis-dataplane")
    ap.add_argument("binary")
    ap.add_argument("srcdir")
    ap.add_argument("--workers", type=int, choices=(1, 2), default=1)
    ap.add_argument("--flows", type=int, help="flow table capacity (one worker only)")
    ap.add_argument("--age", action="store_true",
                    help="run with a 1 s idle timeout and expect every flow aged out")
    a = ap.parse_args()
    binary, srcdir, workers = a.binary, a.srcdir, a.workers
    if a.flows is not None and workers != 1:
        ap.error("--flows needs one worker: the split of flows between workers is the hash's")
    policy = os.path.join(srcdir, "config", "policy.sample.json")
    s = build(a.flows)
    extra = []
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
    print("running:", " ".join(cmd))
    out = open(paths["stdout"], "w")
    err = open(paths["stderr"], "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=err)

    def read(name):
        with open(paths[name]) as f:
            return f.read()

    def log_lines():
        try:
            return [ln for ln in read("decisions.jsonl").splitlines() if ln.strip()]
        except FileNotFoundError:
            return []

    rc = None
    try:
        ready = wait_for(lambda: "ready:" in read("stdout") or proc.poll() is not None, 30)
        if proc.poll() is not None or not ready:
            print("dataplane did not start (exit %s)\n%s" % (proc.poll(), read("stderr")))
            return 1
        check(re.search(r"^portcullis-dataplane: ready: %d workers, ports 0 and 1$" % workers,
                        read("stdout"), re.M) is not None, "ready line: %r" % read("stdout"))
        wait_for(lambda: len(log_lines()) >= len(s.records)
                 and sum(map(len, outputs(1))) >= len(s.out1)
                 and sum(map(len, outputs(0))) >= len(s.out0), 30)
        # Let anything that should not come out have its chance to, and
        # with --age, let the idle timeout (1 s) and a sweep pass. None of
        # the flows is established (the server never answers), so the
        # short timeout applies to all of them.
        time.sleep(3.0 if a.age else 0.5)
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

    check(rc == 0, "exit status %s after SIGTERM" % rc)
    # In a developer_mode build the sanitizers report here.
    for marker in ("runtime error:", "AddressSanitizer", "LeakSanitizer"):
        check(marker not in read("stderr"), "stderr holds a sanitizer report (%s)" % marker)
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
        if name != "mbufs_in_use":
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
