#!/usr/bin/env python3
"""Median of every figure over several portcullis-bench runs.

  median.py RESULTS.jsonl

RESULTS holds the JSON line of each run (other lines are ignored). Prints one
line per figure (median, min, max over the runs), then one JSON line of the
medians with "runs" set to the number of runs.
"""
import json
import statistics
import sys


def flatten(obj, prefix=""):
    for key, val in obj.items():
        name = f"{prefix}{key}"
        if isinstance(val, dict):
            yield from flatten(val, name + ".")
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            yield name, val


def unflatten(flat):
    out = {}
    for name, val in flat.items():
        node = out
        *parents, leaf = name.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = val
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = []
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                runs.append(json.loads(line))
    if not runs:
        sys.exit("median.py: no benchmark results in " + sys.argv[1])

    values = {}
    for run in runs:
        for name, val in flatten(run):
            values.setdefault(name, []).append(val)
    medians = {}
    print(f"median of {len(runs)} runs ({runs[0].get('cmdline', '')})")
    print(f"  {'figure':<58} {'median':>12} {'min':>12} {'max':>12}")
    for name, vals in values.items():
        med = statistics.median(vals)
        medians[name] = round(med, 3)
        print(f"  {name:<58} {med:>12.1f} {min(vals):>12.1f} {max(vals):>12.1f}")
    summary = unflatten(medians)
    summary["runs"] = len(runs)
    summary["cmdline"] = runs[0].get("cmdline", "")
    summary["bench"] = "portcullis-bench (median)"
    print(json.dumps(summary, separators=(",", ":")))


if __name__ == "__main__":
    main()
