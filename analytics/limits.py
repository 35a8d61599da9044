"""How much input the loader accepts, so a hostile or broken file cannot tie up the server.

Each limit is a setting with a documented default, read from an environment variable (the
server's operator sets them, not the person uploading):

============================  =========  ==================================================
variable                      default    what it bounds
============================  =========  ==================================================
``CX_RADAR_MAX_UPLOAD_MB``    1024       all files of one upload together, as sent
``CX_RADAR_MAX_UNPACKED_MB``  2048       everything unpacked from the zips of one read
``CX_RADAR_MAX_ZIP_MEMBERS``  1000       entries in one zip archive
``CX_RADAR_MAX_ZIP_RATIO``    100        unpacked / packed size of one zip member (members
                                         under 1 MB unpacked are exempt: tiny files pack
                                         well and cannot hurt)
``CX_RADAR_MAX_HEADER_KB``    64         a CSV header line
``CX_RADAR_MAX_LINE_KB``      1024       any CSV line
============================  =========  ==================================================

Zip limits are checked on the archive's directory before anything is unpacked; a 509 KB
zip of 500 MB of zero bytes (ratio 1,000x) is refused without reading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from analytics.messages import Message

KB = 1024
MB = 1024 * KB
# Members smaller than this are never refused for their compression ratio.
RATIO_EXEMPT_BYTES = MB
# Messages quote at most this many characters of a value taken from the input.
MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Limits:
    """Input limits in bytes (and counts); see the module docstring for the variables."""

    upload_bytes: int = 1024 * MB
    unpacked_bytes: int = 2048 * MB
    zip_members: int = 1000
    zip_ratio: float = 100.0
    header_bytes: int = 64 * KB
    line_bytes: int = 1024 * KB

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        """The defaults, overridden by the ``CX_RADAR_MAX_*`` variables that are set.

        A value that is not a positive number raises ``ValueError`` naming the variable.
        """
        env = dict(os.environ) if env is None else env
        values: dict[str, float] = {}
        for f in fields(cls):
            variable, unit = _VARIABLES[f.name]
            raw = env.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                number = float(raw)
            except ValueError:
                number = 0.0
            if not number > 0 or number == float("inf"):
                raise ValueError(f"{variable} must be a positive number, not {clip(raw, 40)!r}")
            values[f.name] = number * unit if f.name != "zip_ratio" else number
        return cls(**{k: v if k == "zip_ratio" else int(v) for k, v in values.items()})


_VARIABLES = {
    "upload_bytes": ("CX_RADAR_MAX_UPLOAD_MB", MB),
    "unpacked_bytes": ("CX_RADAR_MAX_UNPACKED_MB", MB),
    "zip_members": ("CX_RADAR_MAX_ZIP_MEMBERS", 1),
    "zip_ratio": ("CX_RADAR_MAX_ZIP_RATIO", 1),
    "header_bytes": ("CX_RADAR_MAX_HEADER_KB", KB),
    "line_bytes": ("CX_RADAR_MAX_LINE_KB", KB),
}


def variable(limit: str) -> str:
    """The environment variable that sets ``limit`` (a :class:`Limits` field name)."""
    return _VARIABLES[limit][0]


def clip(text: str, chars: int = MESSAGE_CHARS) -> str:
    """``text`` cut to ``chars`` characters for a message, saying how long it was (a
    :class:`~analytics.messages.Message`: the app says it in the reader's language)."""
    if len(text) <= chars:
        return text
    return Message("read.clipped", text=text[:chars], n=len(text))


def megabytes(size: float) -> str:
    """``1536000`` -> ``1.5 MB`` (``1,5 МБ`` in Russian): sizes in messages."""
    if size >= 0.1 * MB:
        return Message("read.megabytes", size=size / MB)
    return Message("read.kilobytes", size=size / KB)
