#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The smuggling-and-path corpus through portcullis-dataplane on net_pcap.

    test_corpus.py DATAPLANE_BINARY SOURCE_ROOT

One capture holds one TCP connection per case of
tests/data/corpus/smuggling.json (client 198.18.1.10, port 42000 + the
case's index, to 198.18.0.2:80): the handshake, then the request in one
segment, in 1400-byte segments when it is longer, or cut where the case's
"segments" says. The dataplane runs once over it, one worker, under
tests/data/corpus/policy.json, and then for every case:

  * denied at the head: none of the request's segments reaches the server
    (OUT1 holds no payload of the connection), the server gets a reset in
    the client's name at the client's first data byte and the client one
    acknowledging the whole request (as the stream tests of test_bridge.py
    expect of a held deny); the decision record is a deny with the case's
    reason, and its rule and normalized_path when the case names them;
  * a chunked body with bad framing (cases with "body_reason"): the head is
    allowed and goes on, the body segment does not; the resets fall at the
    end of the head; two records, the allow and a deny http_body_malformed;
  * an allowed control: every segment goes on unchanged, one allow record.

OUT1 and OUT0 are compared frame by frame with what is expected (the
helpers of test_bridge.py). Exit 0 when all holds, 1 otherwise (the files
are kept and the failures printed).
"""

import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_frames as pf  # noqa: E402
import test_bridge as tb  # noqa: E402  (check(), Scenario, Stream, check_port_output)

BASE_PORT = 42000
SEG = 1400


def parts_of(case):
    data = case["request"].encode("latin-1")
    cuts = case.get("segments")
    if cuts is None:
        cuts = [min(SEG, len(data) - k) for k in range(0, len(data), SEG)]
    out, off = [], 0
    for n in cuts:
        out.append(data[off:off + n])
        off += n
    assert off == len(data), case["name"]
    return out


def build(cases):
    s = tb.Scenario()
    want = {}  # sport -> [(expected record fields)]
    for i, case in enumerate(cases):
        sport = BASE_PORT + i
        c = tb.Stream(s, sport, False)
        parts = parts_of(case)
        action = case.get("action", "deny")
        recs = []
        if action == "allow":
            c.out(*[c.seg(p) for p in parts])
            r = dict(action="allow", reason=case["reason"], rule=case["rule"])
            if "normalized_path" in case:
                r["normalized_path"] = case["normalized_path"]
            recs.append(r)
            s.count("decisions_allowed")
        elif "body_reason" in case:
            head = c.seg(parts[0])
            c.out(head)
            recs.append(dict(action="allow", reason="rule_match"))
            segs = [c.seg(p) for p in parts[1:]]
            c.deny(segs[0], "http_body_malformed", None, 1)
            recs.append(dict(action="deny", reason="http_body_malformed", rule=None))
            s.count("decisions_allowed")
            s.count("decisions_denied")
        else:
            segs = [c.seg(p) for p in parts]
            c.deny(segs[-1], case["reason"], case.get("rule"), len(segs))
            r = dict(action="deny", reason=case["reason"])
            if "rule" in case:
                r["rule"] = case["rule"]
            if "normalized_path" in case:
                r["normalized_path"] = case["normalized_path"]
            recs.append(r)
            s.count("decisions_denied")
        want[sport] = (case, recs)
    return s, want


def check_records(lines, want):
    got = {}
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            tb.check(False, "decision log: not JSON: %r" % line)
            continue
        got.setdefault(rec.get("sport"), []).append(rec)
    tb.check(sum(len(v) for v in got.values()) == sum(len(v[1]) for v in want.values()),
             "decision log: %d records, expected %d"
             % (sum(len(v) for v in got.values()), sum(len(v[1]) for v in want.values())))
    table = []
    for sport, (case, recs) in sorted(want.items()):
        have = got.get(sport, [])
        if len(have) != len(recs):
            table.append((case["name"], "%d records" % len(have), "%d records" % len(recs)))
            continue
        for exp, rec in zip(recs, have):
            for k, v in exp.items():
                if rec.get(k, "<absent>") != v:
                    table.append((case["name"], "%s %r" % (k, rec.get(k, "<absent>")),
                                  "%s %r" % (k, v)))
            tb.check(rec.get("src") == tb.CLIENT and rec.get("dst") == tb.SERVER
                     and rec.get("dport") == 80 and rec.get("generation") == 1,
                     "%s: record addressing %r" % (case["name"], rec))
    for row in table:
        tb.check(False, "decision log: %-28s got %-44s expected %s" % row)


def check_no_payload(out1, want):
    """No payload of a denied request reaches the server, apart from the
    allowed heads of the body cases (which the frame comparison checks)."""
    for fr in out1:
        d = pf.Decoded(fr)
        if d.ethertype != pf.ETH_IPV4 or d.proto != 6 or not d.payload:
            continue
        entry = want.get(d.sport)
        if entry is None:
            continue
        case = entry[0]
        if case.get("action", "deny") == "deny" and "body_reason" not in case:
            tb.check(False, "%s: %d payload bytes reached the server"
                     % (case["name"], len(d.payload)))
        if "body_reason" in case:
            body = case["request"].encode("latin-1")[case["segments"][0]:]
            tb.check(body not in d.payload, "%s: the bad body reached the server" % case["name"])


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, srcdir = sys.argv[1], sys.argv[2]
    data = os.path.join(srcdir, "tests", "data", "corpus")
    with open(os.path.join(data, "smuggling.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    s, want = build(cases)
    s.count("rx", len(s.in0))
    s.count("tx", len(s.out0) + len(s.out1))

    tmp = tempfile.mkdtemp(prefix="corpus-pcap-")
    prefix = "corpus-pcap-%d" % os.getpid()
    paths = {k: os.path.join(tmp, k) for k in
             ("decisions.jsonl", "stats.json", "stdout", "stderr",
              "in0", "in1", "out0", "out1")}
    pf.write_pcap(paths["in0"], s.in0)
    pf.write_pcap(paths["in1"], [])
    vdevs = []
    for p in range(2):
        vdevs += ["--vdev", "net_pcap%d,rx_pcap=%s,tx_pcap=%s"
                  % (p, paths["in%d" % p], paths["out%d" % p])]
    cmd = [binary, "-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix] + \
        vdevs + ["--", "--policy", os.path.join(data, "policy.json"),
                 "--decision-log", paths["decisions.jsonl"], "--stats-json", paths["stats.json"],
                 "--flows", "1024"]

    def read(name):
        return tb.read_text(paths[name])

    def log_lines():
        return [ln for ln in read("decisions.jsonl").splitlines() if ln.strip()]

    n_records = sum(len(v[1]) for v in want.values())
    if not tb.run_dataplane(cmd, paths, prefix,
                            lambda: len(log_lines()) >= n_records
                            and len(pf.read_pcap(paths["out1"])) >= len(s.out1)
                            and len(pf.read_pcap(paths["out0"])) >= len(s.out0)):
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    out1, out0 = pf.read_pcap(paths["out1"]), pf.read_pcap(paths["out0"])
    check_records(log_lines(), want)
    check_no_payload(out1, want)
    tb.check_port_output(out1, s.out1, 1)
    tb.check_port_output(out0, s.out0, 0)

    printed = {}
    for line in read("stdout").splitlines():
        m = re.match(r"^([a-z0-9_]+) (\d+)$", line)
        if m:
            printed[m.group(1)] = int(m.group(2))
    for name in ("flows_created", "decisions_allowed", "decisions_denied", "resets_sent",
                 "denied_dropped", "rx", "tx"):
        tb.check(printed.get(name) == s.counts.get(name, 0),
                 "counter %s = %s, expected %d" % (name, printed.get(name), s.counts.get(name, 0)))
    for name in ("tx_full", "decision_log_lost", "mbuf_alloc_failed", "hold_limit",
                 "mbufs_in_use"):
        tb.check(printed.get(name) == 0, "counter %s = %s, expected 0" % (name, printed.get(name)))

    n_deny = sum(1 for c in cases if c.get("action", "deny") == "deny")
    if tb.failures:
        print("FAILED checks:")
        for f in tb.failures:
            print("  " + f)
        print("--- stdout\n%s--- stderr\n%s" % (read("stdout"), read("stderr")))
        print("files kept in", tmp)
        return 1
    print("ok: %d cases (%d denied, %d allowed), %d frames in, %d to services, %d to callers"
          % (len(cases), n_deny, len(cases) - n_deny, len(s.in0), len(s.out1), len(s.out0)))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
