"""TVM's packed-interface metadata keeps a second copy of every constant: leave it out.

For an AOT model with the packed API and USMP, TVM 0.18 writes the constants once into the
constant pool the generated code reads (``global_const_workspace``, ``.rodata.tvm``) and
again, serialized as NDArrays, into the ``data_bytes`` of each entry of
``kTvmgenMetadata_constant_pools`` — for TVM's C++ runtime, which fills pools from them.
utvm's runtime never reads them (the code already holds the pool), so the image carried the
constants twice (vww: 460 KB of flash for nothing). The staged copy of the model gets a null
``data_bytes`` instead; names, offsets and sizes stay.
"""

from __future__ import annotations

import re

_POOLS = re.compile(rb"static const struct TVMConstantInfo kTvmgenMetadata_constant_pools"
                    rb"\[\d+\] = \{")
# TVM writes each data_bytes as one line holding one string literal of \xNN escapes.
_DATA_BYTES = re.compile(rb'(?m)^"(?:\\x[0-9a-fA-F]{2})+"[ \t]*$')
_NO_COPY = b"0 /* data_bytes: left out by utvm, whose runtime does not read it */"


def without_constant_copies(source: bytes) -> bytes:
    """``source`` (a generated C file) without the constants' second copy; unchanged when it
    holds no constant-pool metadata."""
    start = _POOLS.search(source)
    if start is None:
        return source
    end = source.find(b"\n};", start.end())
    if end < 0:
        return source
    block = _DATA_BYTES.sub(_NO_COPY, source[start.end():end])
    return source[:start.end()] + block + source[end:]
