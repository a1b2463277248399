#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Read portcullis-dataplane's decision log (JSON lines) for the demo and the
end-to-end test.

  decisions.py find LOG --sport PORT [--timeout S] [--expect KEY=VALUE ...]
      Wait (bounded) for the one TCP record whose client port is PORT, print
      it on one line, and check KEY=VALUE pairs against it (KEY may be
      "credential.kind"; VALUE "null" means JSON null). Exit 0 when found and
      every pair holds, 1 when missing or not unique, 3 on a mismatch.
  decisions.py count LOG
      Print the number of records; exit 1 if any line is not a JSON object.

The client port identifies a record because every request in the tests opens
its own connection from a fresh ephemeral port.
"""
import argparse
import json
import sys
import time


def load(path):
    recs, bad = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # the writer has not finished this line yet
                try:
                    r = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if isinstance(r, dict):
                    recs.append(r)
                else:
                    bad += 1
    except FileNotFoundError:
        pass
    return recs, bad


def field(rec, key):
    v = rec
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def shown(v):
    return "-" if v is None else str(v)


def pretty(r):
    return "%-5s rule=%s reason=%s identity=%s %s %s" % (
        shown(r.get("action")), shown(r.get("rule")), shown(r.get("reason")),
        shown(r.get("identity")), shown(r.get("method")), shown(r.get("path")))


def cmd_find(a):
    deadline = time.monotonic() + a.timeout
    while True:
        recs, _ = load(a.log)
        hits = [r for r in recs if r.get("proto") == "tcp" and r.get("sport") == a.sport]
        if hits or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if not hits:
        print("no decision record for client port %d in %s" % (a.sport, a.log))
        return 1
    print(pretty(hits[0]))
    if len(hits) != 1:
        print("%d decision records for client port %d, want 1" % (len(hits), a.sport))
        return 1
    rc = 0
    for kv in a.expect:
        key, _, want = kv.partition("=")
        got = field(hits[0], key)
        if want == "null":
            ok = got is None
        else:
            ok = got is not None and str(got) == want
        if not ok:
            print("  %s is %s, want %s" % (key, json.dumps(got), want))
            rc = 3
    return rc


def cmd_count(a):
    recs, bad = load(a.log)
    print(len(recs))
    if bad:
        print("%d lines of %s are not JSON objects" % (bad, a.log), file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("find")
    f.add_argument("log")
    f.add_argument("--sport", type=int, required=True)
    f.add_argument("--timeout", type=float, default=5.0)
    f.add_argument("--expect", nargs="*", default=[])
    c = sub.add_parser("count")
    c.add_argument("log")
    a = ap.parse_args()
    return cmd_find(a) if a.cmd == "find" else cmd_count(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
