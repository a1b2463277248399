#!/usr/bin/env python3
"""Median of every figure over several portcullis-bench runs.

  median.py RESULTS.jsonl

RESULTS holds the JSON line of each run (other lines are ignored). Prints one
line per figure (median, min, max over the runs), then one JSON line of the
medians with "runs" set to the number of runs. Lists (the split scenario's
"segments") are settings, not figures: they are kept as the first run has
them. A ratio (split's "ratio_4_1_p50") is the median of the runs' ratios.
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


def settings(obj, prefix=""):
    """The list values of obj, by flattened name."""
    for key, val in obj.items():
        name = f"{prefix}{key}"
        if isinstance(val, dict):
            yield from settings(val, name + ".")
        elif isinstance(val, list):
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
        d = 3 if "ratio" in name.rsplit(".", 1)[-1] else 1  # ratios are near 1
        print(f"  {name:<58} {med:>12.{d}f} {min(vals):>12.{d}f} {max(vals):>12.{d}f}")
    summary = unflatten(dict(medians, **dict(settings(runs[0]))))
    summary["runs"] = len(runs)
    summary["cmdline"] = runs[0].get("cmdline", "")
    summary["bench"] = "portcullis-bench (median)"
    print(json.dumps(summary, separators=(",", ":")))


if __name__ == "__main__":
    main()
