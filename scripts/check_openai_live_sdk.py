#!/usr/bin/env python3
"""Checks the mock's Live endpoint against the official `openai` Python SDK's `client.live`.

Starts `callsim serve-ai` (by default through `cargo run`, or `--binary PATH` for a built
`callsim`), reads its `listening on` line, then drives one Live session through
`AsyncOpenAI(...).live.connect()`: session.start with µ-law 8 kHz, caller audio (silence, then
speech-like audio), a commentary append that makes the model speak, an instructions append, an
update of an immutable field (which must be refused with `immutable_field_update`, as the SDK's
error model expects), a permitted delegation update, and session.close. Every raw server event
is validated strictly against the SDK's `ServerEvent` union (an unknown event type or a missing
required field raises), no model may carry a key the SDK does not know, and the connection
parses each event itself. Prints the SDK version. Exit status 0 means every check passed.

Requires: pip install openai websockets
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import subprocess
import sys
import time

INSTRUCTIONS = "You are the SDK conformance check of the Live mock. Answer in one short sentence."
FRAME = 160  # 20 ms of µ-law at 8 kHz


def start_mock(binary: str | None) -> tuple[subprocess.Popen, int]:
    if binary:
        cmd = [binary, "serve-ai", "--listen", "127.0.0.1:0"]
    else:
        cmd = ["cargo", "run", "-q", "-p", "sim", "--bin", "callsim", "--", "serve-ai", "--listen", "127.0.0.1:0"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 900
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if time.monotonic() > deadline or not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"serve-ai did not start: first line {line!r}")
    port = int(line.strip().rsplit(":", 1)[1])
    return proc, port


def ulaw(sample: int) -> int:
    """G.711 µ-law encoding of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def speech(ms: int) -> bytes:
    """A 140 Hz voiced buzz, loud enough for the mock's VAD."""
    n = ms * 8
    return bytes(ulaw(int(8000 * math.sin(2 * math.pi * 140 * i / 8000))) for i in range(n))


def silence(ms: int) -> bytes:
    return b"\xff" * (ms * 8)


def no_unknown_keys(model, path: str = "event") -> None:
    """Fails when the SDK kept a key it has no field for (its models allow extras)."""
    from pydantic import BaseModel

    if isinstance(model, BaseModel):
        extra = model.model_extra or {}
        if extra:
            raise AssertionError(f"{path} carries keys the SDK does not model: {sorted(extra)}")
        for name in type(model).model_fields:
            no_unknown_keys(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for i, item in enumerate(model):
            no_unknown_keys(item, f"{path}[{i}]")


async def check(port: int) -> list[str]:
    from openai import AsyncOpenAI
    from openai.types.live import ServerEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(ServerEvent)
    client = AsyncOpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1")
    seen: list[str] = []
    errors: list[dict] = []

    async def events_until(conn, done, limit: float = 30) -> None:
        while True:
            raw = await asyncio.wait_for(conn.recv_bytes(), timeout=limit)
            data = json.loads(raw)
            model = adapter.validate_python(data)  # strict union: unknown type or missing field raises
            no_unknown_keys(model)
            event = conn.parse_event(raw)
            seen.append(event.type)
            if event.type == "error":
                errors.append(data["error"])
            if done(event):
                return

    async def send_audio(conn, audio: bytes) -> None:
        for i in range(0, len(audio), FRAME):
            await conn.session.input_audio.append(audio=base64.b64encode(audio[i : i + FRAME]).decode())

    async with client.live.connect() as conn:
        await conn.session.start(
            event_id="evt_start",
            session={
                "model": "gpt-live-1",
                "instructions": INSTRUCTIONS,
                "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "marin"}},
            },
        )
        started = []
        await events_until(conn, lambda e: e.type == "session.started" and not started.append(e))
        session = started[0].session
        assert session.instructions == INSTRUCTIONS, session.instructions
        assert session.audio.format.type == "audio/pcmu" and session.audio.format.rate == 8000
        assert started[0].client_event_id == "evt_start"

        await conn.session.commentary.append(content="Greet the caller now.", delegation_id=None, event_id="evt_c")
        await conn.session.instructions.append(content="The caller is a VIP.", delegation_id=None, event_id="evt_i")
        await send_audio(conn, silence(2000))
        await events_until(conn, lambda e: e.type == "session.output_transcript.delta")
        await send_audio(conn, speech(800) + silence(16000))
        await events_until(conn, lambda e: e.type == "session.usage.updated")

        await conn.session.update(
            event_id="evt_bad",
            session={"delegation": {"type": "responses", "responses": {"model": "gpt-5.5"}}},
        )
        await events_until(conn, lambda e: e.type == "error")
        refused = errors.pop()
        assert refused["code"] == "immutable_field_update", refused
        assert refused["param"] == "session.delegation.type", refused
        assert refused.get("client_event_id") == "evt_bad", refused

        await conn.session.update(event_id="evt_ok", session={"triggers": []})
        await events_until(conn, lambda e: e.type == "session.updated")

        await conn.session.close(event_id="evt_close")
        closed = []
        await events_until(conn, lambda e: e.type == "session.closed" and not closed.append(e))
        assert closed[0].reason == "close_requested", closed[0].reason
    assert not errors, f"unexpected errors: {errors}"
    for needed in [
        "session.started",
        "session.commentary.appended",
        "session.instructions.appended",
        "session.output_audio.delta",
        "session.output_transcript.delta",
        "session.usage.updated",
        "session.updated",
        "session.closed",
    ]:
        assert needed in seen, f"no {needed} among {sorted(set(seen))}"
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="a built callsim binary")
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
    print(f"OK (openai {openai.__version__}): {len(seen)} Live events parsed: {', '.join(dict.fromkeys(seen))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
