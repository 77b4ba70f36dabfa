"""Newline-delimited JSON framing of protocol v1 (see proto-docs/PROTOCOL.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import DaemonError, ProtocolViolation

_NAME = re.compile(r"[A-Za-z0-9._:/-]{1,200}\Z")
_CLIENT = re.compile(r"[A-Za-z0-9._:/-]{1,64}\Z")
_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)

Message = dict[str, Any]


def valid_breaker_name(name: str) -> bool:
    """Whether ``name`` is 1-200 bytes of ``A-Z a-z 0-9 . _ : / -``."""
    return _NAME.match(name) is not None


def valid_client_name(name: str) -> bool:
    """Whether ``name`` may be sent with ``hello`` (1-64 bytes of the name alphabet)."""
    return _CLIENT.match(name) is not None


def encode(request: Message) -> bytes:
    """One request line, terminated by ``\\n``."""
    return _encoder.encode(request).encode("ascii") + b"\n"


def decode(line: bytes) -> Message:
    """Parses one line from the daemon into an object; anything else is a protocol violation."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolViolation(f"breakerd sent a line that is not JSON: {line[:200]!r}") from exc
    if not isinstance(value, dict):
        raise ProtocolViolation(f"breakerd sent a JSON value that is not an object: {line[:200]!r}")
    if "event" not in value and not isinstance(value.get("ok"), bool):
        raise ProtocolViolation(f"breakerd sent an object that is neither a reply nor an event: {line[:200]!r}")
    return value


def is_event(message: Message) -> bool:
    """Events (pushed by ``watch``) carry ``event``; replies carry ``ok``."""
    return "event" in message and "ok" not in message


def error_of(reply: Message) -> DaemonError | None:
    """The error of an ``ok:false`` reply, or ``None`` for a successful one."""
    if reply.get("ok") is True:
        return None
    err = reply.get("error")
    if not isinstance(err, dict):
        return DaemonError("internal", "error reply without an error object")
    leader = err.get("leader")
    return DaemonError(str(err.get("code", "internal")), str(err.get("message", "")),
                       leader if isinstance(leader, str) else None)


def require_int(reply: Message, key: str) -> int:
    """An integer field of a reply; a missing or wrong-typed one breaks the protocol."""
    value = reply.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolViolation(f"reply field {key!r} is not an integer: {reply!r}")
    return value


def require_str(reply: Message, key: str) -> str:
    """A string field of a reply; a missing or wrong-typed one breaks the protocol."""
    value = reply.get(key)
    if not isinstance(value, str):
        raise ProtocolViolation(f"reply field {key!r} is not a string: {reply!r}")
    return value
