#!/usr/bin/env python3
"""Measures the resident memory of `callsim serve-ai` under bursts of short sessions.

Starts the mock (by default `target/release/callsim serve-ai --listen 127.0.0.1:0`; build it with
`cargo build --release --bin callsim`), reads its `listening on` line and its RSS (VmRSS in
/proc/PID/status), then runs bursts of sessions that each wait for `session.created`, send one
`session.update` carrying about 10 KB of instructions, wait for `session.updated` and close.
After every burst it prints the RSS. At the end it stops the mock with SIGTERM and checks that
it exits 0.

Exit status 0 means the final RSS stayed within --limit-mb of the RSS at the start (and the mock
exited cleanly); 1 means it did not; 2 means the run itself failed.

Arguments after `--` go to `serve-ai`, e.g. `-- --full-ledger` to see the unbounded ledger grow.

Requires: pip install websockets (version 13 or later).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from websockets.asyncio.client import connect


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Reads one memory field of /proc/PID/status, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


def start_mock(binary: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    cmd = [binary, "serve-ai", "--listen", "127.0.0.1:0", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"unexpected first line from {cmd}: {line!r}")
    return proc, line.removeprefix("listening on ")


async def one_session(url: str, index: int, update_bytes: int) -> None:
    headers = {"Authorization": "Bearer sk-memory-check"}
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        created = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if created.get("type") != "session.created":
            raise RuntimeError(f"session {index}: expected session.created, got {created}")
        # Unique text per session, so nothing can be shared between the stored copies.
        prefix = f"Session {index}: you are the memory check. "
        instructions = prefix + "x" * max(0, update_bytes - len(prefix))
        update = {
            "type": "session.update",
            "session": {"type": "realtime", "instructions": instructions},
        }
        await ws.send(json.dumps(update))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if event.get("type") == "session.updated":
                break
            if event.get("type") == "error":
                raise RuntimeError(f"session {index}: {event}")


async def burst(url: str, first: int, count: int, update_bytes: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def guarded(index: int) -> None:
        async with gate:
            await one_session(url, index, update_bytes)

    await asyncio.gather(*(guarded(first + i) for i in range(count)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/callsim")
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=1000, help="sessions per burst")
    parser.add_argument("--update-bytes", type=int, default=10 * 1024)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--limit-mb", type=float, default=50.0)
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds to wait before each RSS reading"
    )
    parser.add_argument("serve_ai_args", nargs="*", help="extra serve-ai arguments (after --)")
    args = parser.parse_args()

    proc, addr = start_mock(args.binary, args.serve_ai_args)
    url = f"ws://{addr}/v1/realtime?model=gpt-realtime"
    try:
        time.sleep(args.settle)
        start = rss_kib(proc.pid)
        print(f"serve-ai pid {proc.pid} on {addr} {' '.join(args.serve_ai_args)}".rstrip())
        print(f"start RSS: {start / 1024:.1f} MiB")
        for n in range(args.bursts):
            began = time.monotonic()
            asyncio.run(
                burst(url, n * args.sessions, args.sessions, args.update_bytes, args.concurrency)
            )
            took = time.monotonic() - began
            # The server finishes a session after the client's close; let those land first.
            time.sleep(args.settle)
            rss = rss_kib(proc.pid)
            print(
                f"after burst {n + 1:2}: RSS {rss / 1024:7.1f} MiB "
                f"({(rss - start) / 1024:+.1f} MiB; {args.sessions} sessions in {took:.1f} s)"
            )
            sys.stdout.flush()
        end = rss_kib(proc.pid)
        peak = rss_kib(proc.pid, "VmHWM")
    except Exception as err:  # noqa: BLE001 - any failure of the run is reported the same way
        print(f"error: {err}", file=sys.stderr)
        proc.kill()
        proc.wait()
        return 2
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    growth = (end - start) / 1024
    total = args.bursts * args.sessions
    print(
        f"end RSS: {end / 1024:.1f} MiB, growth {growth:+.1f} MiB over {total} sessions "
        f"(peak VmHWM {peak / 1024:.1f} MiB); limit {args.limit_mb:.0f} MiB"
    )
    print(f"serve-ai exit status after SIGTERM: {code}")
    ok = growth <= args.limit_mb and code == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)) + "/..")
    sys.exit(main())
