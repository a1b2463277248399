#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Mint JWTs with the openssl command-line tool and check jwt_check's verdicts.

Keys are generated fresh (RSA 2048, P-256, Ed25519, a random HMAC secret),
their public halves exported to a JWK Set by reading the DER
SubjectPublicKeyInfo, and tokens signed with `openssl dgst` / `openssl
pkeyutl`; ECDSA's DER signature is converted to the JOSE r||s form here.
Nothing in this path shares code with the verifier, so agreement means the
verifier speaks the same JWS as OpenSSL's own tools.

  test_openssl_tokens.py PATH_TO_jwt_check
Exit 0 on success, 1 on a wrong verdict, 77 (skip) without openssl.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ISS = "https://issuer.example"
AUD = "portcullis"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True,
                          capture_output=True).stdout


def der_read(buf: bytes, i: int):
    """One DER TLV at buf[i]: (tag, value bytes, index after it)."""
    tag = buf[i]
    length = buf[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[i:i + n], "big")
        i += n
    return tag, buf[i:i + length], i + length


def der_children(value: bytes):
    out, i = [], 0
    while i < len(value):
        tag, v, i = der_read(value, i)
        out.append((tag, v))
    return out


def spki_key_bits(pem_path: str) -> bytes:
    """The subjectPublicKey BIT STRING contents of a key's SPKI."""
    der = openssl("pkey", "-in", pem_path, "-pubout", "-outform", "DER")
    tag, spki, _ = der_read(der, 0)
    assert tag == 0x30
    (_, _alg), (bit_tag, bits) = der_children(spki)
    assert bit_tag == 0x03 and bits[0] == 0
    return bits[1:]


def jwk_rsa(pem, kid):
    tag, seq, _ = der_read(spki_key_bits(pem), 0)
    (_, n), (_, e) = der_children(seq)
    return {"kty": "RSA", "kid": kid, "n": b64u(n.lstrip(b"\0")), "e": b64u(e.lstrip(b"\0"))}


def jwk_ec(pem, kid):
    pt = spki_key_bits(pem)
    assert pt[0] == 4 and len(pt) == 65
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64u(pt[1:33]), "y": b64u(pt[33:])}


def jwk_ed(pem, kid):
    x = spki_key_bits(pem)
    assert len(x) == 32
    return {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64u(x)}


def ecdsa_der_to_raw(der: bytes, size: int) -> bytes:
    _, seq, _ = der_read(der, 0)
    (_, r), (_, s) = der_children(seq)
    return (int.from_bytes(r, "big").to_bytes(size, "big") +
            int.from_bytes(s, "big").to_bytes(size, "big"))


class Minter:
    def __init__(self, d):
        self.d = d
        self.rsa = os.path.join(d, "rsa.pem")
        self.ec = os.path.join(d, "ec.pem")
        self.ed = os.path.join(d, "ed.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", self.rsa)
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", self.ec)
        openssl("genpkey", "-algorithm", "ED25519", "-out", self.ed)
        self.hs_hex = openssl("rand", "-hex", "32").decode().strip()
        self.rsa_pub_pem = openssl("pkey", "-in", self.rsa, "-pubout")
        self.n = 0

    def jwks(self, rsa_only=False):
        keys = [jwk_rsa(self.rsa, "rsa1")]
        if not rsa_only:
            keys += [jwk_ec(self.ec, "ec1"), jwk_ed(self.ed, "ed1"),
                     {"kty": "oct", "kid": "hs1", "k": b64u(bytes.fromhex(self.hs_hex))}]
        path = os.path.join(self.d, "rsa_only.json" if rsa_only else "all.json")
        with open(path, "w") as f:
            json.dump({"keys": keys}, f)
        return path

    def sign(self, how, signing_input: bytes) -> bytes:
        self.n += 1
        path = os.path.join(self.d, "input%d" % self.n)
        with open(path, "wb") as f:
            f.write(signing_input)
        if how == "RS256":
            return openssl("dgst", "-sha256", "-sign", self.rsa, "-binary", path)
        if how == "PS256":
            return openssl("dgst", "-sha256", "-sign", self.rsa, "-sigopt",
                           "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                           "-binary", path)
        if how in ("ES256", "ES256-DER"):
            der = openssl("dgst", "-sha256", "-sign", self.ec, "-binary", path)
            return der if how == "ES256-DER" else ecdsa_der_to_raw(der, 32)
        if how == "EdDSA":
            return openssl("pkeyutl", "-sign", "-inkey", self.ed, "-rawin", "-in", path)
        if how == "HS256":
            return openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt",
                           "hexkey:" + self.hs_hex, "-binary", path)
        if how == "HS256-PEM":
            # RFC 8725 §2.1: the RSA public key text used as an HMAC secret
            return openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt",
                           "hexkey:" + self.rsa_pub_pem.hex(), "-binary", path)
        if how == "none":
            return b""
        raise ValueError(how)

    def token(self, header, claims, how):
        si = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
        return si + "." + b64u(self.sign(how, si.encode()))


def check(jwt_check, jwks, algs, now, cases):
    tokens = "".join(tok + "\n" for _, tok, _ in cases)
    out = subprocess.run([jwt_check, jwks, ISS, AUD, algs, str(now)], input=tokens.encode(),
                         check=True, capture_output=True).stdout.decode().splitlines()
    failed = 0
    for (name, _, want), got in zip(cases, out):
        ok = got == want or (want == "ok" and got.startswith("ok "))
        print("%-4s %-34s %-26s (want %s)" % ("ok" if ok else "FAIL", name, got, want))
        failed += not ok
    if len(out) != len(cases):
        print("FAIL: %d verdicts for %d tokens" % (len(out), len(cases)))
        failed += 1
    return failed


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not shutil.which("openssl"):
        print("openssl not found: skipping")
        return 77
    jwt_check = sys.argv[1]
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="pc-jwt-") as d:
        m = Minter(d)
        all_keys, rsa_only = m.jwks(), m.jwks(rsa_only=True)

        def claims(sub, **kw):
            c = {"iss": ISS, "sub": sub, "aud": AUD, "iat": now, "exp": now + 300}
            c.update(kw)
            return c

        good = [
            ("RS256", "rsa1"), ("PS256", "rsa1"), ("ES256", "ec1"), ("EdDSA", "ed1"),
            ("HS256", "hs1"),
        ]
        cases = []
        for alg, kid in good:
            cases.append(("%s with kid" % alg,
                          m.token({"alg": alg, "kid": kid, "typ": "JWT"},
                                  claims("svc-" + alg.lower()), alg), "ok"))
        # without a kid: the one key of the fitting type in the set
        for alg, _ in good:
            cases.append(("%s without kid" % alg,
                          m.token({"alg": alg}, claims("svc"), alg), "ok"))

        rs = m.token({"alg": "RS256", "kid": "rsa1"}, claims("svc-a"), "RS256")
        h, p, s = rs.split(".")
        tampered = h + "." + b64u(json.dumps(claims("svc-admin")).encode()) + "." + s
        forged = [
            ("alg none", m.token({"alg": "none"}, claims("x"), "none"), "jwt_alg_not_allowed"),
            ("HS256 keyed with RSA PEM, kid rsa1",
             m.token({"alg": "HS256", "kid": "rsa1"}, claims("x"), "HS256-PEM"),
             "jwt_alg_not_allowed"),
            ("HS256 keyed with RSA PEM, no kid",
             m.token({"alg": "HS256"}, claims("x"), "HS256-PEM"), "jwt_bad_signature"),
            ("stripped signature", h + "." + p + ".", "jwt_bad_signature"),
            ("tampered payload", tampered, "jwt_bad_signature"),
            ("ES256 left in DER", m.token({"alg": "ES256"}, claims("x"), "ES256-DER"),
             "jwt_bad_signature"),
            ("PKCS#1 v1.5 labelled PS256", m.token({"alg": "PS256"}, claims("x"), "RS256"),
             "jwt_bad_signature"),
            ("expired", m.token({"alg": "ES256"}, claims("x", iat=now - 900, exp=now - 100),
                                "ES256"), "jwt_expired"),
            ("not yet valid", m.token({"alg": "ES256"}, claims("x", nbf=now + 120), "ES256"),
             "jwt_not_yet_valid"),
            ("wrong audience", m.token({"alg": "EdDSA"}, claims("x", aud="elsewhere"),
                                       "EdDSA"), "jwt_bad_audience"),
            ("wrong issuer", m.token({"alg": "EdDSA"}, claims("x", iss="https://evil"),
                                     "EdDSA"), "jwt_bad_issuer"),
            ("unknown kid", m.token({"alg": "RS256", "kid": "rsa9"}, claims("x"), "RS256"),
             "jwt_unknown_kid"),
            ("crit", m.token({"alg": "RS256", "crit": ["exp"], "exp": 1}, claims("x"),
                             "RS256"), "jwt_crit_unsupported"),
            ("lifetime over the cap", m.token({"alg": "HS256"}, claims("x", exp=now + 7200),
                                              "HS256"), "jwt_lifetime_too_long"),
            ("padding", rs + "==", "jwt_malformed"),
            ("standard alphabet", rs.replace("-", "+").replace("_", "/")
             if ("-" in rs or "_" in rs) else rs[:-1] + "+", "jwt_malformed"),
        ]
        failed = check(jwt_check, all_keys, "RS256,PS256,ES256,EdDSA,HS256", now, cases + forged)

        confusion = [
            ("RS256", rs, "ok"),
            ("HS256 keyed with RSA PEM, kid rsa1",
             m.token({"alg": "HS256", "kid": "rsa1"}, claims("x"), "HS256-PEM"),
             "jwt_alg_not_allowed"),
            ("HS256 keyed with RSA PEM, no kid",
             m.token({"alg": "HS256"}, claims("x"), "HS256-PEM"), "jwt_alg_not_allowed"),
        ]
        print("-- RSA-only key set, RS256 allowed")
        failed += check(jwt_check, rsa_only, "RS256", now, confusion)
        print("-- RSA-only key set, RS256 and HS256 allowed")
        failed += check(jwt_check, rsa_only, "RS256,HS256", now, confusion)
    print("%d wrong verdicts" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
