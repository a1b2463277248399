#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""portcullisctl explain with JWT identities, on keys made at test time.

An RSA 2048 and a P-256 key are generated with the openssl command-line
tool, their public halves written to a JWK Set file that the policy names by
a relative "jwks_file", and tokens signed with `openssl dgst`, all through
the helpers of tests/jwt/test_openssl_tokens.py (imported, not copied).
Each case runs `portcullisctl explain --now T` and compares the verdict
JSON: valid RS256 and ES256 tokens, expired, not yet valid, wrong audience,
bad signature, alg none, unknown kid, an unknown subject, a token replayed
from an unbound source, and a claim condition.

  test_jwt_explain.py PORTCULLISCTL SOURCE_ROOT
Exit 0 when every verdict is as expected, 1 otherwise, 77 without openssl.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ISS = "https://idp.example"
AUD = "payments-gw"
NOW = 1800000000


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    ctl, root = sys.argv[1], sys.argv[2]
    if not shutil.which("openssl"):
        print("openssl not found: skipping")
        return 77
    sys.path.insert(0, os.path.join(root, "tests", "jwt"))
    import test_openssl_tokens as tok  # the minting helpers

    failed = 0
    with tempfile.TemporaryDirectory(prefix="pc-ctl-jwt-") as d:
        m = tok.Minter(d)
        os.mkdir(os.path.join(d, "keys"))
        with open(os.path.join(d, "keys", "idp.json"), "w") as f:
            json.dump({"keys": [tok.jwk_rsa(m.rsa, "rsa1"), tok.jwk_ec(m.ec, "ec1")]}, f)
        policy = {
            "version": 1,
            "jwt_issuers": [{
                "issuer": ISS, "audiences": [AUD], "algorithms": ["RS256", "ES256"],
                "jwks_file": "keys/idp.json", "leeway_s": 30, "max_lifetime_s": 3600,
            }],
            "identities": [
                {"name": "payments", "sources": ["198.18.1.0/24"],
                 "jwt": {"issuer": ISS, "subject": "svc-pay-*"}},
                {"name": "reporting", "jwt": {"issuer": ISS, "claim": "client_id",
                                              "value": "report-?"}},
            ],
            "destinations": [{"name": "pay", "hosts": ["pay.internal"], "ports": [80]}],
            "rules": [
                {"id": "pay-write", "identities": ["payments"], "destinations": ["pay"],
                 "methods": ["POST"], "claims": {"scope": ["payments:write"]},
                 "action": "allow"},
                {"id": "read", "destinations": ["pay"], "methods": ["GET"],
                 "identities": ["payments", "reporting"], "action": "allow"},
            ],
        }
        policy_path = os.path.join(d, "policy.json")
        with open(policy_path, "w") as f:
            json.dump(policy, f, indent=1)

        r = subprocess.run([ctl, "policy", "validate", policy_path], capture_output=True,
                           text=True)
        ok = r.returncode == 0 and r.stdout == "ok\n"
        print("%-4s policy validate (jwks_file relative to the policy)%s" %
              ("ok" if ok else "FAIL", "" if ok else ": " + r.stderr.strip()))
        failed += not ok

        def claims(sub="svc-pay-1", **kw):
            c = {"iss": ISS, "sub": sub, "aud": AUD, "iat": NOW - 10, "exp": NOW + 300}
            c.update(kw)
            return {k: v for k, v in c.items() if v is not None}

        rs = lambda c, **h: m.token(dict({"alg": "RS256", "kid": "rsa1"}, **h), c, "RS256")
        es = lambda c: m.token({"alg": "ES256", "kid": "ec1"}, c, "ES256")
        valid = rs(claims(scope="payments:read payments:write"))
        head, payload, sig = valid.split(".")
        tampered = head + "." + tok.b64u(json.dumps(claims(sub="svc-pay-admin")).encode()) + \
            "." + sig

        def fp(token):
            return hashlib.sha256(token.rsplit(".", 1)[1].encode()).hexdigest()[:16]

        def want(action, reason, token, rule=None, identity=None, subject=None):
            w = {"action": action, "rule": rule, "identity": identity, "reason": reason,
                 "credential": {"kind": "jwt", "fingerprint": fp(token)}}
            if subject is not None:
                w["subject"] = subject
                w["issuer"] = ISS
            return w

        es_tok = es(claims(sub="svc-pay-2"))
        expired = es(claims(iat=NOW - 900, exp=NOW - 100))
        early = rs(claims(nbf=NOW + 120))
        wrong_aud = rs(claims(aud="elsewhere"))
        none = m.token({"alg": "none"}, claims(), "none")
        bad_kid = m.token({"alg": "RS256", "kid": "rsa9"}, claims(), "RS256")
        stranger = rs(claims(sub="someone-else"))
        report = rs(claims(sub=None, client_id="report-7"))
        cases = [
            ("valid RS256, claims hold", "POST", valid, "198.18.1.10",
             want("allow", "rule_match", valid, "pay-write", "payments", "svc-pay-1")),
            ("valid RS256, GET", "GET", valid, "198.18.1.10",
             want("allow", "rule_match", valid, "read", "payments", "svc-pay-1")),
            ("valid ES256 without the write scope", "POST", es_tok, "198.18.1.10",
             want("deny", "default_action", es_tok, None, "payments", "svc-pay-2")),
            ("claim-based identity, no sub", "GET", report, "198.18.1.10",
             want("allow", "rule_match", report, "read", "reporting", "")),
            ("expired", "GET", expired, "198.18.1.10", want("deny", "jwt_expired", expired)),
            ("not yet valid", "GET", early, "198.18.1.10",
             want("deny", "jwt_not_yet_valid", early)),
            ("wrong audience", "GET", wrong_aud, "198.18.1.10",
             want("deny", "jwt_bad_audience", wrong_aud)),
            ("bad signature", "GET", tampered, "198.18.1.10",
             want("deny", "jwt_bad_signature", tampered)),
            ("alg none", "GET", none, "198.18.1.10", want("deny", "jwt_alg_not_allowed", none)),
            ("unknown kid", "GET", bad_kid, "198.18.1.10",
             want("deny", "jwt_unknown_kid", bad_kid)),
            ("unknown subject", "GET", stranger, "198.18.1.10",
             want("deny", "jwt_unknown_subject", stranger)),
            ("valid token from an unbound source", "GET", valid, "198.18.2.10",
             want("deny", "credential_from_unbound_source", valid, None, "payments",
                  "svc-pay-1")),
        ]
        for name, method, token, src, expect in cases:
            req = ("%s /v1/pay HTTP/1.1\r\nHost: pay.internal\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (method, token)).encode()
            r = subprocess.run([ctl, "explain", "--policy", policy_path, "--src", src + ":40000",
                                "--dst", "198.18.0.2:80", "--now", str(NOW)],
                               input=req, capture_output=True)
            got = None
            try:
                got = json.loads(r.stdout)
            except ValueError:
                pass
            ok = r.returncode == 0 and got == expect and \
                list(got) == list(expect)  # the documented key order too
            print("%-4s %s" % ("ok" if ok else "FAIL", name))
            if not ok:
                print("     got:  %s%s" % (r.stdout.decode().strip(), r.stderr.decode().strip()))
                print("     want: %s" % json.dumps(expect))
            failed += not ok

        # --now decides: the valid token is expired an hour later
        req = ("GET /v1/pay HTTP/1.1\r\nHost: pay.internal\r\n"
               "Authorization: Bearer %s\r\n\r\n" % valid).encode()
        r = subprocess.run([ctl, "explain", "--policy", policy_path, "--now", str(NOW + 3600)],
                           input=req, capture_output=True)
        ok = r.returncode == 0 and json.loads(r.stdout)["reason"] == "jwt_expired"
        print("%-4s --now moves the clock" % ("ok" if ok else "FAIL"))
        failed += not ok
        r = subprocess.run([ctl, "explain", "--policy", policy_path, "--now", "soon"],
                           input=b"", capture_output=True)
        ok = r.returncode == 2 and b"--now" in r.stderr
        print("%-4s bad --now is a usage error" % ("ok" if ok else "FAIL"))
        failed += not ok
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
