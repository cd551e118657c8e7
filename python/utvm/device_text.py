"""Show text that came from a device without letting it drive the terminal.

Exception messages, log lines and console output come from code we do not control: a device
(or a model's generated code) can send ESC sequences that clear the screen, retitle the
window or fake output, or BEL. Before such text is printed, every character that is not
printable is written as a Python-style escape (``\\x1b``, ``\\x07``, ``\\u202e``); bytes
that were not UTF-8 (decoded with surrogateescape) appear as ``\\xNN`` too.
"""

from __future__ import annotations

import io
from typing import TextIO

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, multiline: bool = False) -> str:
    """``text`` with control and other unprintable characters escaped.

    ``multiline`` keeps line breaks and tabs (console output, a process's stderr); otherwise
    they are escaped too, so a device's message stays on the one line it is shown on.
    """
    if text.isprintable():
        return text
    kept = "\n\t" if multiline else ""
    return "".join(char if char.isprintable() or char in kept else _escape(char)
                   for char in text)


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


class EscapedStream(io.TextIOBase):
    """A text stream that writes device output to ``target`` through ``printable``."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(printable(text, multiline=True))
        return len(text)

    def flush(self) -> None:
        if not self.closed:
            self.target.flush()
