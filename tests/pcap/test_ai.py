#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""pcap suite: decisions that read request bodies, DLP on bodies, per-rule
deny responses.

    test_ai.py DATAPLANE_BINARY SOURCE_ROOT

Runs portcullis-dataplane (one worker, net_pcap ports) twice under policies
the test writes itself: once with DLP blocking, once with DLP logging only.
Each run replays crafted conversations from 198.18.1.10 and checks, as the
stream suite does (test_bridge.py), the decision log record by record, the
frames on both ports byte for byte (forwarded frames equal to the input,
resets and deny answers built exactly), the counters, no mbuf in use and no
DLP stream left open at exit.

Scenarios: an OpenAI-style POST /v1/chat/completions whose model a rule
allows (head and body in three segments, held until the body is whole, then
all three go on unchanged) and one whose model it does not (reset, logged
model_not_allowed with "model"); an MCP tools/call allowed and denied; a
chunked body with a model; a body over the policy's window for a rule that
needs it (body_too_large); a keep-alive connection with an allowed then a
denied model; a body carrying an AWS access key id to an external
destination (blocked at the segment that carries it: no later segment goes
out; with DLP logging only it passes with an allow record naming the
pattern), the same with the key split over two segments (found by the
streaming scan in the segment that completes it), the same body to a
destination that is not external (passes unscanned), a chunked body whose
key a chunk boundary cuts (the framing is not scanned); a body held for a
decision past --hold-body-packets (hold_limit); a rule whose deny is
answered with a 429, byte for byte.

Exits 0 on success, 1 on a failed check (every failure is printed, and the
files are kept for a look).
"""

import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_frames as pf  # noqa: E402
import test_bridge as tb  # noqa: E402

CLIENT, CLIENT_MAC = "198.18.1.10", "02:00:00:00:01:0a"
SERVER_MAC = "02:00:00:00:00:02"
SERVER_ISN = 700000000
EXTERNAL, INTERNAL, MCP, LIMITED = "198.18.0.3", "198.18.0.2", "198.18.0.4", "198.18.0.5"
HOSTS = {EXTERNAL: "api.llm.example", INTERNAL: "llm.internal", MCP: "mcp.internal",
         LIMITED: "limited.internal"}
WINDOW = 512
AWS_KEY = b"AKIAIOSFODNN7EXAMPLE"


def policy(dlp_action):
    return {
        "version": 1,
        "default_action": "deny",
        "body_window_bytes": WINDOW,
        "identities": [{"name": "agent", "sources": ["198.18.1.0/24"]}],
        "destinations": [
            {"name": "llm-external", "hosts": [HOSTS[EXTERNAL]],
             "addresses": [EXTERNAL + "/32"], "ports": [80], "external": True},
            {"name": "llm-internal", "hosts": [HOSTS[INTERNAL]],
             "addresses": [INTERNAL + "/32"], "ports": [80]},
            {"name": "mcp", "hosts": [HOSTS[MCP]], "addresses": [MCP + "/32"], "ports": [80]},
            {"name": "limited", "hosts": [HOSTS[LIMITED]], "addresses": [LIMITED + "/32"],
             "ports": [80]},
        ],
        "rules": [
            {"id": "chat-models", "identities": ["agent"],
             "destinations": ["llm-external", "llm-internal"], "methods": ["POST"],
             "paths": ["^/v1/chat/completions$"], "models": ["gpt-4o-mini", "claude-*"],
             "action": "allow"},
            {"id": "uploads", "identities": ["agent"],
             "destinations": ["llm-external", "llm-internal"], "methods": ["POST"],
             "paths": ["^/v1/files$"], "action": "allow"},
            {"id": "mcp-tools", "identities": ["agent"], "destinations": ["mcp"],
             "methods": ["POST"], "paths": ["^/mcp$"],
             "mcp_tools": ["search_*", "get_weather"], "action": "allow"},
            {"id": "slow-down", "identities": ["agent"], "destinations": ["limited"],
             "action": "deny", "deny_response": "429"},
        ],
        "dlp": {"action": dlp_action, "default_patterns": True},
    }


def post(dst, path, body, extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + HOSTS[dst].encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n" + extra + b"\r\n")


def chat(model, pad=0):
    return json.dumps({"model": model, "messages": [{"role": "user",
                                                      "content": "hi" + "x" * pad}]}).encode()


def mcp_call(tool):
    return json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": {"name": tool, "arguments": {"q": "portcullis"}}}).encode()


def payload_429(reason, rule):
    body = '{"error":"too_many_requests","reason":"%s","rule":"%s"}\n' % (reason, rule)
    return ("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)).encode()


class Run:
    """The frames of one run, with what must come out of it."""

    def __init__(self):
        self.in0, self.out1, self.out0, self.records, self.counts = [], [], [], [], {}

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n


class Conn:
    """One client connection to dst:80."""

    def __init__(self, run, sport, dst):
        self.r, self.sport, self.dst = run, sport, dst
        self.isn = 1000 * sport
        self.next = self.isn + 1
        self.fwd = self.isn + 1
        run.count("flows_created")
        self.pass_through(self.frame(self.isn, pf.TCP_SYN), self.frame(self.next, pf.TCP_ACK))

    def frame(self, seq, flags, payload=b""):
        ack = 0 if flags == pf.TCP_SYN else SERVER_ISN + 1
        return pf.eth(SERVER_MAC, CLIENT_MAC, pf.ETH_IPV4,
                      pf.ipv4(CLIENT, self.dst, 6, pf.tcp(CLIENT, self.dst, self.sport, 80, seq,
                                                          ack, flags, payload)))

    def pass_through(self, *frames):
        self.r.in0.extend(frames)
        self.out(*frames)

    def seg(self, payload):
        fr = self.frame(self.next, pf.TCP_PSH | pf.TCP_ACK, payload)
        self.next += len(payload)
        self.r.in0.append(fr)
        return fr

    def out(self, *frames):
        for fr in frames:
            self.r.out1.append(fr)
            d = pf.Decoded(fr)
            self.fwd = max(self.fwd, d.seq + len(d.payload))

    def record(self, action, method, path, **kw):
        rec = dict(src=CLIENT, dst=self.dst, dport=80, sport=self.sport, proto="tcp",
                   generation=1, worker=0, action=action, identity="agent")
        if method is not None:
            rec.update(method=method, host=HOSTS[self.dst], path=path)
        rec.update(kw)
        self.r.records.append(rec)

    def deny(self, trigger, dropped, answer=None):
        d = pf.Decoded(trigger)
        self.r.out1.append(("rst", dict(src=CLIENT, dst=self.dst, sport=self.sport, dport=80,
                                        seq=self.fwd, ack=SERVER_ISN + 1, src_mac=CLIENT_MAC,
                                        dst_mac=SERVER_MAC, vlans=[])))
        seq, ack = SERVER_ISN + 1, d.seq + len(d.payload)
        if answer is not None:
            self.r.out0.append(("403", dict(src=self.dst, dst=CLIENT, sport=80,
                                            dport=self.sport, seq=seq, ack=ack,
                                            src_mac=SERVER_MAC, dst_mac=CLIENT_MAC, vlans=[],
                                            payload=answer)))
            self.r.count("deny_responses_sent")
            seq += len(answer) + 1
        self.r.out0.append(("rst", dict(src=self.dst, dst=CLIENT, sport=80, dport=self.sport,
                                        seq=seq, ack=ack, src_mac=SERVER_MAC,
                                        dst_mac=CLIENT_MAC, vlans=[])))
        self.r.count("resets_sent", 2)
        self.r.count("denied_dropped", dropped)


def three(body, head):
    """Head, then the body in two segments."""
    k = len(body) // 2
    return head, body[:k], body[k:]


def build(blocking):
    r = Run()
    allowed, denied = 0, 0

    # 1. An allowed model, head and body in three segments: every segment is
    #    held until the body is whole, then all three go on unchanged.
    body = chat("gpt-4o-mini")
    c = Conn(r, 42001, INTERNAL)
    segs = [c.seg(p) for p in three(body, post(INTERNAL, "/v1/chat/completions", body))]
    c.out(*segs)
    c.record("allow", "POST", "/v1/chat/completions", rule="chat-models", reason="rule_match",
             model="gpt-4o-mini")
    allowed += 1
    r.count("held", 3)
    r.count("hold_released", 3)
    r.count("requests_body_held")
    r.count("body_bytes_inspected", len(body))

    # 2. A model no rule allows: reset at the segment that completes the
    #    body; nothing reaches the server.
    body = chat("gpt-4-turbo")
    c = Conn(r, 42002, INTERNAL)
    segs = [c.seg(p) for p in three(body, post(INTERNAL, "/v1/chat/completions", body))]
    c.record("deny", "POST", "/v1/chat/completions", reason="model_not_allowed",
             model="gpt-4-turbo")
    denied += 1
    c.deny(segs[-1], 3)
    r.count("held", 3)
    r.count("requests_body_held")
    r.count("body_bytes_inspected", len(body))

    # 3. MCP tools/call: an allowed tool, then (own connection) one that is not.
    body = mcp_call("get_weather")
    c = Conn(r, 42003, MCP)
    seg = c.seg(post(MCP, "/mcp", body) + body)
    c.out(seg)
    c.record("allow", "POST", "/mcp", rule="mcp-tools", reason="rule_match",
             mcp_tool="get_weather")
    allowed += 1
    r.count("held")
    r.count("hold_released")
    r.count("requests_body_held")
    r.count("body_bytes_inspected", len(body))

    body = mcp_call("delete_repository")
    c = Conn(r, 42004, MCP)
    seg = c.seg(post(MCP, "/mcp", body) + body)
    c.record("deny", "POST", "/mcp", reason="mcp_tool_not_allowed",
             mcp_tool="delete_repository")
    denied += 1
    c.deny(seg, 1)
    r.count("held")
    r.count("requests_body_held")
    r.count("body_bytes_inspected", len(body))

    # 4. A chunked body: two chunks over two segments, de-chunked for the
    #    decision, forwarded as sent.
    body = chat("claude-3-haiku")
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + HOSTS[INTERNAL].encode() +
            b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    k = 20
    c1 = b"%x\r\n" % k + body[:k] + b"\r\n"
    c2 = b"%x\r\n" % (len(body) - k) + body[k:] + b"\r\n0\r\n\r\n"
    c = Conn(r, 42005, INTERNAL)
    segs = [c.seg(head + c1), c.seg(c2)]
    c.out(*segs)
    c.record("allow", "POST", "/v1/chat/completions", rule="chat-models", reason="rule_match",
             model="claude-3-haiku")
    allowed += 1
    r.count("held", 2)
    r.count("hold_released", 2)
    r.count("requests_body_held")
    r.count("body_bytes_inspected", len(body))

    # 5. A body longer than the window, for a rule that reads it: the
    #    window's worth is held, then the request is denied.
    body = chat("gpt-4o-mini", pad=WINDOW)
    c = Conn(r, 42006, INTERNAL)
    segs = [c.seg(p) for p in three(body, post(INTERNAL, "/v1/chat/completions", body))]
    c.record("deny", "POST", "/v1/chat/completions", reason="body_too_large")
    denied += 1
    c.deny(segs[-1], 3)
    r.count("held", 3)
    r.count("requests_body_held")
    r.count("body_bytes_inspected", WINDOW)

    # 6. Keep-alive: an allowed model, then on the same connection a denied one.
    c = Conn(r, 42007, INTERNAL)
    b1, b2 = chat("claude-3-opus"), chat("llama-3")
    s1 = c.seg(post(INTERNAL, "/v1/chat/completions", b1) + b1)
    c.out(s1)
    c.record("allow", "POST", "/v1/chat/completions", rule="chat-models", reason="rule_match",
             model="claude-3-opus")
    allowed += 1
    s2 = c.seg(post(INTERNAL, "/v1/chat/completions", b2) + b2)
    c.record("deny", "POST", "/v1/chat/completions", reason="model_not_allowed", model="llama-3")
    denied += 1
    c.deny(s2, 1)
    r.count("held", 2)
    r.count("hold_released")
    r.count("requests_body_held", 2)
    r.count("body_bytes_inspected", len(b1) + len(b2))

    # 7. DLP: a secret in the middle segment of a body bound for an
    #    external destination. The head goes on at once (no rule reads the
    #    body); each body segment is scanned as it passes.
    secret = b'{"file":"config","text":"aws_access_key_id = ' + AWS_KEY + b'"}'
    tail = b" " * 64
    body = b'{"purpose":"assistants",' + b'"pad":"' + b"y" * 40 + b'",' + secret + tail
    cut1 = 60
    cut2 = body.index(AWS_KEY) + len(AWS_KEY) + 10  # the whole key in the middle segment
    c = Conn(r, 42008, EXTERNAL)
    head = c.seg(post(EXTERNAL, "/v1/files", body))
    b_1, b_2, b_3 = c.seg(body[:cut1]), c.seg(body[cut1:cut2]), c.seg(body[cut2:])
    c.out(head, b_1)
    c.record("allow", "POST", "/v1/files", rule="uploads", reason="rule_match")
    allowed += 1
    r.count("held")
    r.count("hold_released")
    r.count("dlp_matches")
    if blocking:
        r.records.append(dict(src=CLIENT, dst=EXTERNAL, sport=42008, dport=80, action="deny",
                              reason="dlp_match", dlp_pattern="aws-access-key-id",
                              identity="agent", rule=None))
        denied += 1
        c.deny(b_2, 2)  # b_2 and b_3: never out
        r.count("dlp_blocked")
        r.count("dlp_bytes_scanned", len(b"".join([body[:cut1], body[cut1:cut2]])))
    else:
        c.out(b_2, b_3)
        r.records.append(dict(src=CLIENT, dst=EXTERNAL, sport=42008, dport=80, action="allow",
                              reason="dlp_match", dlp_pattern="aws-access-key-id",
                              identity="agent", rule="uploads"))
        allowed += 1
        # The stream stops at its first match: b_3 is not scanned.
        r.count("dlp_bytes_scanned", cut2)

    # 8. The same body to a destination that is not external: unscanned.
    c = Conn(r, 42009, INTERNAL)
    head = c.seg(post(INTERNAL, "/v1/files", body))
    rest = [c.seg(body[:cut1]), c.seg(body[cut1:cut2]), c.seg(body[cut2:])]
    c.out(head, *rest)
    c.record("allow", "POST", "/v1/files", rule="uploads", reason="rule_match")
    allowed += 1
    r.count("held")
    r.count("hold_released")

    # 8b. The key split over two segments: stream mode still finds it, in
    #     the segment that completes it.
    body2 = b'{"purpose":"assistants","text":"id ' + AWS_KEY + b' end"}' + b" " * 32
    k = body2.index(AWS_KEY) + 8
    c = Conn(r, 42011, EXTERNAL)
    head = c.seg(post(EXTERNAL, "/v1/files", body2))
    p1, p2, p3 = c.seg(body2[:k]), c.seg(body2[k:k + 30]), c.seg(body2[k + 30:])
    c.out(head, p1)
    c.record("allow", "POST", "/v1/files", rule="uploads", reason="rule_match")
    allowed += 1
    r.count("held")
    r.count("hold_released")
    r.count("dlp_matches")
    r.count("dlp_bytes_scanned", k + 30)
    if blocking:
        r.records.append(dict(src=CLIENT, dst=EXTERNAL, sport=42011, dport=80, action="deny",
                              reason="dlp_match", dlp_pattern="aws-access-key-id",
                              identity="agent", rule=None))
        denied += 1
        c.deny(p2, 2)
        r.count("dlp_blocked")
    else:
        c.out(p2, p3)
        r.records.append(dict(src=CLIENT, dst=EXTERNAL, sport=42011, dport=80, action="allow",
                              reason="dlp_match", dlp_pattern="aws-access-key-id",
                              identity="agent", rule="uploads"))
        allowed += 1

    # 8d. Chunked, with a chunk boundary inside the key: the framing is
    #     not scanned, so the key is still whole to the scan.
    d1 = b'{"text":"' + AWS_KEY[:9]
    d2 = AWS_KEY[9:] + b'"}'
    chunks = b"%x\r\n" % len(d1) + d1 + b"\r\n" + b"%x\r\n" % len(d2) + d2 + b"\r\n"
    head = (b"POST /v1/files HTTP/1.1\r\nHost: " + HOSTS[EXTERNAL].encode() +
            b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    c = Conn(r, 42013, EXTERNAL)
    h, q1, q2 = c.seg(head), c.seg(chunks), c.seg(b"0\r\n\r\n")
    c.out(h)
    c.record("allow", "POST", "/v1/files", rule="uploads", reason="rule_match")
    allowed += 1
    r.count("held")
    r.count("hold_released")
    r.count("dlp_matches")
    r.count("dlp_bytes_scanned", len(d1) + len(d2))
    rec = dict(src=CLIENT, dst=EXTERNAL, sport=42013, dport=80, reason="dlp_match",
               dlp_pattern="aws-access-key-id", identity="agent")
    if blocking:
        r.records.append(dict(rec, action="deny", rule=None))
        denied += 1
        c.deny(q1, 2)
        r.count("dlp_blocked")
    else:
        c.out(q1, q2)
        r.records.append(dict(rec, action="allow", rule="uploads"))
        allowed += 1

    # 8c. A body held for a decision, cut so small that it passes the
    #     per-flow body bound (--hold-body-packets 40) before the window is
    #     reached: denied hold_limit at the segment that would be the 41st.
    body3 = chat("gpt-4o-mini", pad=WINDOW)
    c = Conn(r, 42012, INTERNAL)
    c.seg(post(INTERNAL, "/v1/chat/completions", body3))
    last = None
    for i in range(40):
        last = c.seg(body3[10 * i:10 * i + 10])
    c.record("deny", None, None, reason="hold_limit", identity=None, rule=None)
    denied += 1
    c.deny(last, 41)
    r.count("held", 40)
    r.count("requests_body_held")
    r.count("hold_limit")

    # 9. A rule whose deny is answered with a 429.
    c = Conn(r, 42010, LIMITED)
    get = b"GET /v1/anything HTTP/1.1\r\nHost: " + HOSTS[LIMITED].encode() + b"\r\n\r\n"
    seg = c.seg(get)
    c.record("deny", "GET", "/v1/anything", rule="slow-down", reason="rule_match")
    denied += 1
    c.deny(seg, 1, answer=payload_429("rule_match", "slow-down"))
    r.count("held")

    r.count("decisions_allowed", allowed)
    r.count("decisions_denied", denied)
    r.count("rx", len(r.in0))
    r.count("tx", len(r.out0) + len(r.out1))
    r.counts.setdefault("dlp_blocked", 0)
    r.counts.setdefault("dlp_bytes_scanned", 0)
    return r


def run(binary, r, pol, tag):
    tmp = tempfile.mkdtemp(prefix="pc-pcap-ai-")
    prefix = "ai_dataplane-pcap-%s-%d" % (tag, os.getpid())
    paths = {k: os.path.join(tmp, k) for k in
             ("policy.json", "decisions.jsonl", "stats.json", "stdout", "stderr",
              "in0.pcap", "in1.pcap", "out0.pcap", "out1.pcap")}
    with open(paths["policy.json"], "w") as f:
        json.dump(pol, f)
    pf.write_pcap(paths["in0.pcap"], r.in0)
    pf.write_pcap(paths["in1.pcap"], [])
    cmd = [binary, "-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
           "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (paths["in0.pcap"], paths["out0.pcap"]),
           "--vdev", "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (paths["in1.pcap"], paths["out1.pcap"]),
           "--", "--policy", paths["policy.json"], "--decision-log", paths["decisions.jsonl"],
           "--stats-json", paths["stats.json"], "--control", prefix,
           "--hold-body-packets", "40"]

    def read(name):
        return tb.read_text(paths[name])

    def log_lines():
        return [ln for ln in read("decisions.jsonl").splitlines() if ln.strip()]

    n_fail = len(tb.failures)
    if not tb.run_dataplane(cmd, paths, prefix,
                            lambda: len(log_lines()) >= len(r.records)
                            and len(pf.read_pcap(paths["out1.pcap"])) >= len(r.out1)
                            and len(pf.read_pcap(paths["out0.pcap"])) >= len(r.out0),
                            label=tag + ": "):
        return tmp
    tb.check_records(log_lines(), r.records, 1)
    tb.check_port_output(pf.read_pcap(paths["out1.pcap"]), r.out1, 1)
    tb.check_port_output(pf.read_pcap(paths["out0.pcap"]), r.out0, 0)
    printed = {}
    for line in read("stdout").splitlines():
        m = re.match(r"^([a-z0-9_]+) (\d+)$", line)
        if m:
            printed[m.group(1)] = int(m.group(2))
    for name in ("tx_full", "decision_log_lost", "mbuf_alloc_failed", "hold_timeout"):
        tb.check(printed.get(name) == 0,
                 "%s: counter %s = %s, expected 0" % (tag, name, printed.get(name)))
    for name, want in sorted(r.counts.items()):
        tb.check(printed.get(name) == want, "%s: counter %s = %s, expected %d"
                 % (tag, name, printed.get(name), want))
    tb.check(printed.get("mbufs_in_use") == 0,
             "%s: mbufs_in_use = %s at exit" % (tag, printed.get("mbufs_in_use")))
    # Every body ended or was reset: no stream may still be taken.
    tb.check(printed.get("dlp_streams_in_use") == 0,
             "%s: dlp_streams_in_use = %s at exit" % (tag, printed.get("dlp_streams_in_use")))
    if len(tb.failures) > n_fail:
        print("--- %s stdout\n%s--- stderr\n%s--- decision log\n%s"
              % (tag, read("stdout"), read("stderr"), "\n".join(log_lines())))
        print("files kept in", tmp)
        return tmp
    shutil.rmtree(tmp, ignore_errors=True)
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    for blocking in (True, False):
        tag = "dlp-deny" if blocking else "dlp-log"
        r = build(blocking)
        run(binary, r, policy("deny" if blocking else "log"), tag)
    if tb.failures:
        print("FAILED checks:")
        for f in tb.failures:
            print("  " + f)
        return 1
    print("ok: body decisions, DLP (deny and log), 429")
    return 0


if __name__ == "__main__":
    sys.exit(main())
