#!/usr/bin/env python3
"""Checks the mock OpenAI Realtime endpoint against the official `openai` Python SDK.

Starts the mock (by default `cargo run -p sim --example realtime_mock -- --listen 127.0.0.1:0`,
or `--binary PATH` for a prebuilt example binary), reads its `listening on` line, then drives one
GA session through `AsyncOpenAI(...).realtime.connect(...)`: session.update, a user text item,
response.create, and every event until the rate_limits.updated that follows response.done. Each raw event is validated strictly
against the SDK's `RealtimeServerEvent` union (any exception is a failure) and parsed by the
connection itself. Exit status 0 means every check passed.

Requires: pip install openai websockets
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

INSTRUCTIONS = "You are the SDK conformance check. Answer in one short sentence."


def start_mock(binary: str | None) -> tuple[subprocess.Popen, int]:
    if binary:
        cmd = [binary, "--listen", "127.0.0.1:0"]
    else:
        cmd = ["cargo", "run", "-q", "-p", "sim", "--example", "realtime_mock", "--", "--listen", "127.0.0.1:0"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 900
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if time.monotonic() > deadline or not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"mock did not start: first line {line!r}")
    port = int(line.strip().rsplit(":", 1)[1])
    return proc, port


async def check(port: int) -> list[str]:
    from openai import AsyncOpenAI
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(RealtimeServerEvent)
    client = AsyncOpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1")
    seen: list[str] = []
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "instructions": INSTRUCTIONS,
                "output_modalities": ["audio"],
                "audio": {
                    "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None},
                    "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
                },
            }
        )
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}
        )
        await conn.response.create()
        updated = False
        done = False
        while True:
            raw = await asyncio.wait_for(conn.recv_bytes(), timeout=30)
            data = json.loads(raw)
            adapter.validate_python(data)  # strict: raises on any schema mismatch
            event = conn.parse_event(raw)
            seen.append(event.type)
            if event.type == "error":
                raise AssertionError(f"mock sent an error: {data}")
            if event.type == "session.updated":
                assert event.session.instructions == INSTRUCTIONS, event.session.instructions
                assert event.session.audio.output.voice == "marin"
                updated = True
            if event.type == "response.done":
                assert event.response.status == "completed", event.response.status
                done = True
            if done and event.type == "rate_limits.updated":
                break
        assert updated, "no session.updated"
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="prebuilt realtime_mock example binary")
    args = parser.parse_args()
    import openai

    proc, port = start_mock(args.binary)
    try:
        seen = asyncio.run(check(port))
    except Exception as exc:  # any SDK or validation exception is a failure
        print(f"FAIL (openai {openai.__version__}): {type(exc).__name__}: {exc}")
        return 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"OK (openai {openai.__version__}): {len(seen)} events parsed: {', '.join(dict.fromkeys(seen))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
