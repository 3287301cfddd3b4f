#!/usr/bin/env python3
"""Check the fake Twilio's request signatures against the official twilio package.

1. Runs `cargo run -q -p sim --example twilio_signature_vectors`, which prints JSON vectors made
   by sim::twilio::signature::sign, and validates each with
   twilio.request_validator.RequestValidator.
2. Starts the independent test server (tests/independent_server/server.py, a Python server shaped
   like Twilio's official Media Streams sample), runs `callsim run --target … --capture FILE`
   against it, and validates every request and WebSocket upgrade of the capture: the signature
   with RequestValidator over the URL as the server would rebuild it from the `Host` header
   (https:// for requests, wss:// for upgrades), and Twilio's other headers.

`--capture FILE` validates an existing capture instead of step 2 (token from `--auth-token`,
default callsim's default token).
Exits 0 when everything validates, 1 on any mismatch, 2 when the setup is broken.
Requires `pip install twilio websockets`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

try:
    import twilio
    from twilio.request_validator import RequestValidator
except ImportError:
    print("the twilio package is missing: pip install twilio", file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOKEN = "callsim-twilio-auth-token"
TWILIO_HEADERS = {"user-agent": "TwilioProxy/1.1", "x-home-region": "us1"}


def check_vectors() -> int:
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


def headers_of(line):
    return {name.lower(): value for name, value in line["headers"]}


def check_capture(path: Path, token: str) -> int:
    """Validates every request and upgrade of a capture as a server behind a proxy would."""
    validator = RequestValidator(token)
    failures = checked = 0
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    for line in lines:
        if line["kind"] not in ("http_request", "ws_upgrade"):
            continue
        checked += 1
        headers = headers_of(line)
        signed = urlsplit(line["url"])
        scheme = "https" if line["kind"] == "http_request" else "wss"
        # The URL rebuilt from Host, as a server behind a proxy does; it must be the signed URL
        # up to the scheme, which a proxy terminating TLS cannot see.
        rebuilt = f"{scheme}://{headers.get('host', '')}{signed.path}" + (f"?{signed.query}" if signed.query else "")
        params = {}
        for key, value in line.get("params", []):
            params[key] = value
        signature = headers.get("x-twilio-signature", "")
        problems = []
        if not validator.validate(line["url"], params, signature):
            problems.append("signature invalid over the signed URL")
        if signed.scheme == scheme and not validator.validate(rebuilt, params, signature):
            problems.append(f"signature invalid over the URL rebuilt from Host ({rebuilt})")
        if validator.validate(line["url"], params, "x" + signature[1:]):
            problems.append("a tampered signature validates")
        if line["kind"] == "http_request":
            for name, value in TWILIO_HEADERS.items():
                if headers.get(name) != value:
                    problems.append(f"{name}: {headers.get(name)!r}, not {value!r}")
            if not headers.get("i-twilio-idempotency-token"):
                problems.append("no I-Twilio-Idempotency-Token")
        elif headers.get("user-agent") != "Twilio.TmeWs/1.0":
            problems.append(f"user-agent {headers.get('user-agent')!r}")
        if problems:
            failures += 1
            print(f"MISMATCH {line['kind']} {line['url']}: {'; '.join(problems)}")
    if checked == 0:
        print(f"{path}: no requests or upgrades to check", file=sys.stderr)
        return 2
    print(f"twilio {twilio.__version__}: {checked - failures}/{checked} captured requests and upgrades valid ({path})")
    return 1 if failures else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture_against_independent_server(directory: Path) -> Path:
    """Runs two certification scenarios against the independent server with a capture."""
    ai_port, rest_port = free_port(), free_port()
    env = dict(os.environ, REALTIME_URL=f"ws://127.0.0.1:{ai_port}/v1/realtime?model=gpt-realtime")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/independent_server/server.py")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        first = server.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise RuntimeError(f"the independent server did not start: {first!r}")
        target_file = directory / "target.yaml"
        target_file.write_text("public_url: https://independent.test\npaths:\n  incoming: /incoming-call\n  status_callback: /status\nscenario_timeout: 1m\n")
        capture = directory / "capture.jsonl"
        subprocess.run(
            ["cargo", "run", "-q", "-p", "sim", "--bin", "callsim", "--", "run", "-q",
             "--target", f"http://{first.removeprefix('listening on ')}",
             "--target-config", str(target_file),
             "--ai-listen", f"127.0.0.1:{ai_port}", "--twilio-listen", f"127.0.0.1:{rest_port}",
             "--capture", str(capture),
             "scenarios/certification/v1/twiml-connect-stream.yaml"],
            cwd=ROOT, check=True, capture_output=True, text=True, timeout=300,
        )
        return capture
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, help="validate this capture file only")
    parser.add_argument("--auth-token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    if args.capture:
        return check_capture(args.capture, args.auth_token)
    vectors = check_vectors()
    with tempfile.TemporaryDirectory() as directory:
        try:
            capture = capture_against_independent_server(Path(directory))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError, OSError) as e:
            detail = getattr(e, "stdout", "") or ""
            print(f"could not capture a run against the independent server: {e}\n{detail}", file=sys.stderr)
            return 2
        captured = check_capture(capture, DEFAULT_TOKEN)
    return max(vectors, captured)


if __name__ == "__main__":
    sys.exit(main())
