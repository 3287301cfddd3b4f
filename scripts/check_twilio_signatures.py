#!/usr/bin/env python3
"""Check the fake Twilio's request signatures against the official twilio package.

Runs `cargo run -q -p sim --example twilio_signature_vectors`, which prints JSON vectors made by
sim::twilio::signature::sign, and validates each with twilio.request_validator.RequestValidator.
Exits 0 when every vector validates, 1 on any mismatch, 2 when the setup is broken.
Requires `pip install twilio`.
"""

import json
import subprocess
import sys
from pathlib import Path

try:
    import twilio
    from twilio.request_validator import RequestValidator
except ImportError:
    print("the twilio package is missing: pip install twilio", file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    try:
        out = subprocess.run(
            ["cargo", "run", "-q", "-p", "sim", "--example", "twilio_signature_vectors"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        data = json.loads(out)
    except (subprocess.CalledProcessError, json.JSONDecodeError) as e:
        print(f"could not produce vectors: {e}", file=sys.stderr)
        return 2
    validator = RequestValidator(data["auth_token"])
    failures = 0
    for v in data["vectors"]:
        params = {}
        for key, value in v["params"]:
            params[key] = value
        ok = validator.validate(v["url"], params, v["signature"])
        # A tampered signature must be rejected, or the check above proves nothing.
        tampered = validator.validate(v["url"], params, "x" + v["signature"][1:])
        status = "ok" if ok and not tampered else "MISMATCH"
        if status != "ok":
            failures += 1
        print(f"{status:8} {v['name']}: {v['url']}")
    print(f"twilio {twilio.__version__}: {len(data['vectors']) - failures}/{len(data['vectors'])} vectors valid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
