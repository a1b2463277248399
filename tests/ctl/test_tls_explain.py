#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""portcullisctl explain --tls on the ClientHellos real clients send.

The hellos of openssl s_client (TLS 1.3 and 1.2, with -servername, and one
with -noservername) and curl (TLS 1.3) are captured at test time on
127.0.0.1 by tests/tls/tls_capture.py's capture server (imported, not
copied), exactly as the tls suite captures them. Each is explained with
--tls against a policy that allows one SNI at TLS 1.3 with an ALPN list and
denies another, and the verdict JSON is compared
whole, in key order, with what the independent Python reading of the same
bytes (tls_capture.Hello) says it must be: sni, alpn, tls_version, ja4.
A third name is pinned to curl's JA4 (computed in Python from its capture):
curl passes, openssl is denied tls_fingerprint_not_allowed.
Also: the same hello split over two records, a truncated hello, a damaged
one and a plaintext HTTP request, each denied with the parser's reason.

  test_tls_explain.py PORTCULLISCTL SOURCE_ROOT
Exit 0 when every verdict is as expected, 1 otherwise, 77 without openssl
or curl. Loopback only.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SNI = "api.portcullis-test.example"
OTHER = "evil.portcullis-test.example"
PINNED = "pinned.portcullis-test.example"
SRC = "198.18.0.10"
DST = "198.18.1.1:443"


def capture(cap, work, name, client):
    """Serve one connection with tls_capture.serve, run the client at it
    ("@PORT@" replaced by the port), return the bytes it sent."""
    port_file = os.path.join(work, name + ".port")
    out_file = os.path.join(work, name + ".bin")
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("rc", cap.serve(port_file, out_file)))
    t.start()
    for _ in range(200):
        if os.path.exists(port_file):
            break
        time.sleep(0.025)
    with open(port_file) as f:
        port = f.read().strip()
    args = [a.replace("@PORT@", port) for a in client]
    # The server hangs up after the hello: the client always fails its
    # handshake, and only its bytes matter.
    subprocess.run(["timeout", "15"] + args, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.join(30)
    if result.get("rc") != 0:
        raise RuntimeError("%s: no complete ClientHello captured" % name)
    with open(out_file, "rb") as f:
        return f.read()


def split_records(data, cap):
    """The same ClientHello, its handshake message cut over two records."""
    h = cap.Hello(data)
    msg = b""
    off = 0
    while off < h.stream_len:
        rlen = int.from_bytes(data[off + 3:off + 5], "big")
        msg += data[off + 5:off + 5 + rlen]
        off += 5 + rlen
    cut = len(msg) // 3
    rec = lambda b: bytes([22, 3, 1]) + len(b).to_bytes(2, "big") + b
    return rec(msg[:cut]) + rec(msg[cut:])


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    ctl, root = sys.argv[1], sys.argv[2]
    for tool in ("openssl", "curl", "timeout"):
        if not shutil.which(tool):
            print("%s not found: skipping" % tool)
            return 77
    sys.path.insert(0, os.path.join(root, "tests", "tls"))
    import tls_capture as cap  # the capture server and the independent reader

    failed = 0
    with tempfile.TemporaryDirectory(prefix="pc-ctl-tls-") as work:
        s_client = ["openssl", "s_client", "-connect", "127.0.0.1:@PORT@"]
        curl_to = lambda host: ["curl", "-sS", "--noproxy", "*", "--max-time", "10",
                                "--resolve", "%s:@PORT@:127.0.0.1" % host,
                                "https://%s:@PORT@/v1/ping" % host]
        curl = curl_to(SNI)
        hellos = {
            "openssl13": capture(cap, work, "openssl13", s_client + [
                "-tls1_3", "-servername", SNI, "-alpn", "h2,http/1.1"]),
            "openssl12": capture(cap, work, "openssl12", s_client + [
                "-tls1_2", "-servername", SNI, "-alpn", "http/1.1"]),
            "other": capture(cap, work, "other", s_client + [
                "-tls1_3", "-servername", OTHER, "-alpn", "h2"]),
            "nosni": capture(cap, work, "nosni", s_client + [
                "-tls1_3", "-noservername", "-alpn", "h2"]),
            "curl13": capture(cap, work, "curl13", curl + ["--tlsv1.3", "--http1.1"]),
            "curl_pinned": capture(cap, work, "curl_pinned", curl_to(PINNED) + [
                "--tlsv1.3", "--http1.1"]),
            "openssl_pinned": capture(cap, work, "openssl_pinned", s_client + [
                "-tls1_3", "-servername", PINNED, "-alpn", "http/1.1"]),
        }
        # Only curl's fingerprint, as Python computes it, is let through.
        curl_ja4 = cap.Hello(hellos["curl_pinned"]).ja4()

        policy = {
            "version": 1,
            "default_action": "deny",
            "identities": [{"name": "agents", "sources": ["198.18.0.0/24"]}],
            "destinations": [
                {"name": "api", "protocol": "tls", "hosts": [SNI], "ports": [443]},
                {"name": "others", "protocol": "tls", "hosts": [OTHER]},
                {"name": "pinned", "protocol": "tls", "hosts": [PINNED], "ports": [443]},
            ],
            "rules": [
                {"id": "api-modern", "identities": ["agents"], "destinations": ["api"],
                 "tls": {"min_version": "1.3", "alpn": ["h2", "http/1.1"]},
                 "action": "allow"},
                {"id": "block-others", "destinations": ["others"], "action": "deny"},
                {"id": "pinned-curl", "identities": ["agents"], "destinations": ["pinned"],
                 "tls": {"ja4": [curl_ja4]}, "action": "allow"},
            ],
        }
        policy_path = os.path.join(work, "policy.json")
        with open(policy_path, "w") as f:
            json.dump(policy, f, indent=1)

        fp = hashlib.sha256(socket.inet_aton(SRC)).hexdigest()[:16]
        versions = {0x0304: "1.3", 0x0303: "1.2"}

        def want(hello, action, reason, rule=None, identity="agents"):
            h = cap.Hello(hello)
            w = {"action": action, "rule": rule, "identity": identity, "reason": reason}
            if identity is not None:
                w["credential"] = {"kind": "source", "fingerprint": fp}
            w["sni"] = h.sni
            w["alpn"] = [a.decode("latin-1") for a in h.alpn]
            w["tls_version"] = versions[h.highest()]
            w["ja4"] = h.ja4()
            return w

        def refused(reason):
            return {"action": "deny", "rule": None, "identity": None, "reason": reason}

        o13 = hellos["openssl13"]
        damaged = bytearray(o13)
        damaged[5 + 4 + 2 + 32] = 33  # legacy_session_id<0..32>: one byte too long
        cases = [
            ("openssl TLS 1.3, allowed SNI", o13, SRC, want(o13, "allow", "rule_match", "api-modern")),
            ("curl TLS 1.3, allowed SNI", hellos["curl13"], SRC,
             want(hellos["curl13"], "allow", "rule_match", "api-modern")),
            ("openssl TLS 1.2: the rule wants 1.3", hellos["openssl12"], SRC,
             want(hellos["openssl12"], "deny", "tls_version_too_low")),
            ("openssl TLS 1.3, denied SNI", hellos["other"], SRC,
             want(hellos["other"], "deny", "rule_match", "block-others")),
            ("openssl without SNI", hellos["nosni"], SRC,
             want(hellos["nosni"], "deny", "tls_sni_missing")),
            ("curl to the JA4-pinned name", hellos["curl_pinned"], SRC,
             want(hellos["curl_pinned"], "allow", "rule_match", "pinned-curl")),
            ("openssl to the JA4-pinned name", hellos["openssl_pinned"], SRC,
             want(hellos["openssl_pinned"], "deny", "tls_fingerprint_not_allowed")),
            ("the allowed hello split over two records", split_records(o13, cap), SRC,
             want(o13, "allow", "rule_match", "api-modern")),
            ("the allowed hello from an unknown source", o13, "198.19.0.10",
             want(o13, "deny", "unknown_caller", identity=None)),
            ("truncated hello", o13[:len(o13) // 2], SRC, refused("tls_hello_incomplete")),
            ("damaged hello", bytes(damaged), SRC, refused("tls_bad_session_id")),
            ("plaintext HTTP on a TLS port", b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % SNI.encode(),
             SRC, refused("tls_not_handshake")),
        ]
        for name, data, src, expect in cases:
            r = subprocess.run([ctl, "explain", "--tls", "--policy", policy_path,
                                "--src", src + ":40000", "--dst", DST],
                               input=data, capture_output=True)
            ok = r.returncode == 0 and r.stdout.decode() == json.dumps(expect) + "\n"
            print("%-4s %s" % ("ok" if ok else "FAIL", name))
            if not ok:
                print("     got:  %s%s" % (r.stdout.decode().strip(), r.stderr.decode().strip()))
                print("     want: %s" % json.dumps(expect))
            failed += not ok

        # A flow with no --dst still decides on the SNI alone.
        r = subprocess.run([ctl, "explain", "--tls", "--policy", policy_path, "--src", SRC],
                           input=o13, capture_output=True)
        ok = r.returncode == 0 and json.loads(r.stdout)["rule"] == "api-modern"
        print("%-4s --tls without --dst" % ("ok" if ok else "FAIL"))
        failed += not ok
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
