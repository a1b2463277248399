#!/usr/bin/env python3
"""Write a synthetic policy for benchmarks.

  gen_policy.py RULES IDENTITIES OUT.json

Identity i is "agent-i" with API key "bench-key-i" (the policy holds only its
SHA-256), bound to 198.18.0.0/15. Destination "svc" is 198.18.0.2:80, Host
svc.bench. Rules are spread evenly over the identities, each allowing GET and
POST on its own path regex, so every identity has RULES/IDENTITIES candidate rules and
the request for agent-i's last rule walks all of them.

Rule r is "rule-r" and belongs to agent-(r mod IDENTITIES); portcullis-bench
relies on these names to know which request each identity's last rule allows.
"""
import hashlib
import json
import os
import sys


def usage(msg=None):
    if msg:
        sys.stderr.write(f"gen_policy.py: {msg}\n")
    sys.exit(__doc__ if msg is None else 2)


def main():
    if len(sys.argv) != 4:
        usage()
    try:
        n_rules, n_ids = int(sys.argv[1]), int(sys.argv[2])
    except ValueError:
        usage("RULES and IDENTITIES must be numbers")
    out = sys.argv[3]
    if n_ids < 1:
        usage("IDENTITIES must be at least 1")
    # An identity without a rule would only ever be denied by default, and
    # the benchmark's requests are meant to be allowed.
    if n_rules < n_ids:
        usage(f"{n_rules} rules cannot give each of {n_ids} identities a rule")
    if n_rules > 65535 or n_ids > 65535:
        usage("at most 65535 rules and identities (the policy's own limit)")

    identities = [{
        "name": f"agent-{i}",
        "sources": ["198.18.0.0/15"],
        "api_keys_sha256": [hashlib.sha256(f"bench-key-{i}".encode()).hexdigest()],
    } for i in range(n_ids)]
    rules = [{
        "id": f"rule-{r}",
        "identities": [f"agent-{r % n_ids}"],
        "destinations": ["svc"],
        "methods": ["GET", "POST"],
        "paths": [f"^/api/v1/res{r}(/[0-9]+)?$"],
        "action": "allow",
    } for r in range(n_rules)]
    policy = {
        "version": 1,
        "default_action": "deny",
        "identities": identities,
        "destinations": [{"name": "svc", "hosts": ["svc.bench"],
                          "addresses": ["198.18.0.2/32"], "ports": [80]}],
        "rules": rules,
    }
    # Written aside and renamed, so a reader never sees half a policy.
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(policy, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
