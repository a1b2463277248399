#!/usr/bin/env python3
"""The uncached JWT figures of portcullis-bench-identity against `openssl speed`.

  openssl_speed.py RESULTS.jsonl [--runs R] [--seconds S]

RESULTS holds the JSON line of each identity run (other lines are ignored);
the median of each figure over the runs is used. `openssl speed -mr` runs R
times (default 3) for S seconds a test (default 1), on the machine the
benchmark ran on, right after it:

  openssl speed -mr -seconds S rsa2048 ecdsap256 ecdsap384 ed25519
  openssl speed -mr -seconds S -bytes 256 -hmac sha256

and the median verifications per second of each becomes cycles per verify
(TSC Hz as the benchmark measured it, divided by verify/s). HS256 is set
against an HMAC-SHA256 of 256 bytes (a token's signing input is about 230);
RS256 and PS256 against rsa2048 (`openssl speed` has no PSS figure; a PSS
verify costs a little more than a PKCS #1 v1.5 one). Prints a table, then
one JSON line: for each algorithm the speed figure, and engine ÷ speed for
the engine's signature check alone (verify_p50) and for the whole identity
resolution of a fresh token (p50, and net_p50 without the baseline).
"""
import argparse
import json
import statistics
import subprocess
import sys

SPEED_OF = {
    "HS256": "hmac256",
    "RS256": "rsa2048",
    "PS256": "rsa2048",
    "ES256": "ecdsap256",
    "ES384": "ecdsap384",
    "EdDSA": "ed25519",
}


def bench_medians(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if obj.get("bench") == "portcullis-bench-identity":
                runs.append(obj)
    if not runs:
        sys.exit(f"openssl_speed.py: {path}: no portcullis-bench-identity result")
    hz = statistics.median(r["tsc_hz"] for r in runs)
    algs = {}
    for name in runs[0]["jwt_uncached"]:
        fig = {}
        for key in ("p50", "net_p50", "verify_p50"):
            vals = [r["jwt_uncached"][name][key] for r in runs if name in r["jwt_uncached"]]
            fig[key] = statistics.median(vals)
        algs[name] = fig
    return hz, algs


def parse_speed(text):
    """verify/s by test name from `openssl speed -mr` output."""
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if f[0] == "+F2" and f[2] == "2048":
            out["rsa2048"] = float(f[4])
        elif f[0] == "+F4" and f[2] in ("256", "384"):
            out["ecdsap" + f[2]] = float(f[4])
        elif f[0] == "+F6" and f[3] == "Ed25519":
            out["ed25519"] = float(f[5])
        elif f[0] == "+F" and f[2] == "hmac(sha256)":
            out["hmac256"] = float(f[3]) / 256.0
    return out


def run_speed(seconds):
    cmds = [
        ["openssl", "speed", "-mr", "-seconds", str(seconds), "rsa2048", "ecdsap256",
         "ecdsap384", "ed25519"],
        ["openssl", "speed", "-mr", "-seconds", str(seconds), "-bytes", "256", "-hmac",
         "sha256"],
    ]
    got = {}
    for cmd in cmds:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"openssl_speed.py: {' '.join(cmd)} failed: {res.stderr.strip()}")
        got.update(parse_speed(res.stdout))
    missing = set(SPEED_OF.values()) - set(got)
    if missing:
        sys.exit(f"openssl_speed.py: no figure in the output of openssl speed for: "
                 f"{', '.join(sorted(missing))}")
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=1)
    a = ap.parse_args()
    if a.runs < 1 or a.seconds < 1:
        sys.exit("openssl_speed.py: --runs and --seconds must be at least 1")

    hz, algs = bench_medians(a.results)
    series = [run_speed(a.seconds) for _ in range(a.runs)]
    speed = {t: statistics.median(s[t] for s in series) for t in series[0]}

    print(f"uncached JWT against openssl speed (median of {a.runs} runs of -seconds "
          f"{a.seconds}; TSC {hz / 1e9:.3f} GHz; cycles per verify)")
    print(f"  {'alg':6} {'speed test':11} {'speed':>10} {'verify p50':>11} {'verify/speed':>13}"
          f" {'engine p50':>11} {'engine/speed':>13} {'net/speed':>10}")
    out = {}
    for name, fig in algs.items():
        test = SPEED_OF.get(name)
        if test is None:
            continue
        cyc = hz / speed[test]
        r = {
            "speed_test": test,
            "speed_cycles": round(cyc),
            "verify_p50": fig["verify_p50"],
            "verify_ratio": round(fig["verify_p50"] / cyc, 3),
            "p50": fig["p50"],
            "ratio": round(fig["p50"] / cyc, 3),
            "net_ratio": round(fig["net_p50"] / cyc, 3),
        }
        out[name] = r
        print(f"  {name:6} {test:11} {cyc:10.0f} {fig['verify_p50']:11.0f} "
              f"{r['verify_ratio']:12.2f}x {fig['p50']:11.0f} {r['ratio']:12.2f}x "
              f"{r['net_ratio']:9.2f}x")
    print(json.dumps({"bench": "openssl-speed-comparison", "tsc_hz": hz, "runs": a.runs,
                      "seconds": a.seconds, "algs": out}, separators=(",", ":")))


if __name__ == "__main__":
    main()
