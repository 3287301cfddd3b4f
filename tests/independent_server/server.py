#!/usr/bin/env python3
"""An independent call server for callsim's tests, shaped like Twilio's official
"speech assistant with the OpenAI Realtime API" sample (Python): a voice webhook at
`/incoming-call` answering `<Connect><Stream url="wss://HOST/media-stream"/>`, the Media Streams
socket at `/media-stream`, one fixed prompt sent in `session.update`, no signature validation and
no fixture API.

It is written with the standard library and the `websockets` package only (its Sans-I/O server
protocol on the same port as the webhook, its asyncio client towards the model), so that callsim
is tested against a server it did not write, in another language.

Environment:
  REALTIME_URL    the model's WebSocket URL (callsim's mock: ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime)
  OPENAI_API_KEY  the bearer key (default sk-independent)
  SYSTEM_MESSAGE  the fixed prompt (default: the clinic prompt below)
  PORT            where to listen on 127.0.0.1 (default 0: any free port)
Prints `listening on 127.0.0.1:PORT` once it accepts connections.
"""

import asyncio
import base64
import json
import os
import sys
from urllib.parse import parse_qs

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.server import ServerProtocol

REALTIME_URL = os.environ.get("REALTIME_URL", "ws://127.0.0.1:4010/v1/realtime?model=gpt-realtime")
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "sk-independent")
SYSTEM_MESSAGE = os.environ.get(
    "SYSTEM_MESSAGE",
    "You are the front desk of Certification Clinic. Help callers book appointments.",
)
VOICE = "alloy"
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


def session_update():
    """The sample's GA session configuration: µ-law both ways, server VAD, the fixed prompt."""
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}, "turn_detection": {"type": "server_vad"}},
                "output": {"format": {"type": "audio/pcmu"}, "voice": VOICE},
            },
            "instructions": SYSTEM_MESSAGE,
        },
    }


async def http_reply(writer, status, content_type, body):
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(status, "Error")
    data = body.encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data
    )
    await writer.drain()
    writer.close()


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    method, target, headers = parse_head(head)
    path = target.split("?", 1)[0]
    if method == "POST" and path == "/incoming-call":
        length = min(int(headers.get("content-length", "0") or 0), MAX_BODY)
        form = parse_qs((await reader.readexactly(length)).decode()) if length else {}
        host = headers.get("host", "localhost")
        # Like the sample: the stream URL is built from the Host the webhook arrived with.
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="wss://{host}/media-stream"/></Connect></Response>'
        )
        print(f"incoming call {form.get('CallSid', ['?'])[0]}", file=sys.stderr)
        await http_reply(writer, 200, "application/xml", twiml)
    elif method == "GET" and path == "/media-stream" and "upgrade" in headers.get("connection", "").lower():
        await media_stream(reader, writer, head)
    elif method == "GET" and path == "/":
        await http_reply(writer, 200, "application/json", '{"message": "Twilio Media Stream Server is running!"}')
    else:
        await http_reply(writer, 404, "text/plain", "not found")


class TwilioSocket:
    """The Media Streams socket over websockets' Sans-I/O server protocol."""

    def __init__(self, reader, writer, protocol):
        self.reader, self.writer, self.protocol = reader, writer, protocol

    async def flush(self):
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            else:
                self.writer.close()
                return
        await self.writer.drain()

    async def send(self, message):
        self.protocol.send_text(json.dumps(message).encode())
        await self.flush()

    async def messages(self):
        while True:
            data = await self.reader.read(65536)
            if not data:
                self.protocol.receive_eof()
                await self.flush()
                return
            self.protocol.receive_data(data)
            await self.flush()
            for event in self.protocol.events_received():
                if event.opcode == Opcode.TEXT:
                    yield json.loads(event.data.decode())
                elif event.opcode == Opcode.CLOSE:
                    return


async def media_stream(reader, writer, head):
    protocol = ServerProtocol()
    protocol.receive_data(head)
    request = protocol.events_received()[0]
    protocol.send_response(protocol.accept(request))
    twilio = TwilioSocket(reader, writer, protocol)
    await twilio.flush()
    call = {"stream_sid": None, "latest_media_timestamp": 0, "last_item": None,
            "response_start": None, "marks": [], "live": True}
    ai_box = {"ws": None}
    ai_task = asyncio.create_task(run_ai(twilio, call, ai_box))
    try:
        async for data in twilio.messages():
            event = data.get("event")
            if event == "media":
                call["latest_media_timestamp"] = int(data["media"]["timestamp"])
                ws = ai_box["ws"]
                if ws is not None:
                    try:
                        await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                                  "audio": data["media"]["payload"]}))
                    except ConnectionClosed:
                        pass
            elif event == "start":
                call["stream_sid"] = data["start"]["streamSid"]
                call["response_start"] = None
                call["latest_media_timestamp"] = 0
                call["last_item"] = None
            elif event == "mark":
                if call["marks"]:
                    call["marks"].pop(0)
            elif event == "stop":
                break
    finally:
        call["live"] = False
        ws = ai_box["ws"]
        if ws is not None:
            await ws.close()
        ai_task.cancel()
        try:
            await ai_task
        except (asyncio.CancelledError, Exception):
            pass
        writer.close()


async def run_ai(twilio, call, ai_box):
    """Talks to the model while the call lasts; reconnects with the same prompt if it closes."""
    while call["live"]:
        try:
            async with connect(REALTIME_URL, additional_headers={"Authorization": f"Bearer {OPENAI_API_KEY}"}) as ws:
                ai_box["ws"] = ws
                await ws.send(json.dumps(session_update()))
                async for text in ws:
                    await on_ai_event(twilio, call, ws, json.loads(text))
        except (ConnectionClosed, OSError) as e:
            print(f"AI socket closed: {e}", file=sys.stderr)
        ai_box["ws"] = None
        if call["live"]:
            await asyncio.sleep(0.2)


async def on_ai_event(twilio, call, ws, event):
    kind = event.get("type")
    if kind == "error":
        print(f"AI error: {event.get('error')}", file=sys.stderr)
    elif kind == "response.output_audio.delta" and call["stream_sid"]:
        await twilio.send({"event": "media", "streamSid": call["stream_sid"],
                           "media": {"payload": event["delta"]}})
        if call["response_start"] is None:
            call["response_start"] = call["latest_media_timestamp"]
        if event.get("item_id"):
            call["last_item"] = event["item_id"]
        await twilio.send({"event": "mark", "streamSid": call["stream_sid"], "mark": {"name": "responsePart"}})
        call["marks"].append("responsePart")
    elif kind == "input_audio_buffer.speech_started":
        if call["marks"] and call["response_start"] is not None:
            elapsed = call["latest_media_timestamp"] - call["response_start"]
            if call["last_item"]:
                await ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": call["last_item"],
                                          "content_index": 0, "audio_end_ms": max(elapsed, 0)}))
            await twilio.send({"event": "clear", "streamSid": call["stream_sid"]})
            call["marks"].clear()
            call["last_item"] = None
            call["response_start"] = None


async def main():
    port = int(os.environ.get("PORT", "0"))
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=MAX_HEAD)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
