"""Writes the data of one numpy .npy file as raw little-endian bytes, for utvm_tensor_bytes().

    python3 utvm_npy_to_raw.py <in.npy> <out.bin>

Runs with the Python CMake finds, which may lack numpy: the .npy header is read with the
standard library. Numeric and bool arrays only; C order; big-endian data is byte-swapped.
The output is rewritten only when its content changes, so builds that embed it do not
rebuild for nothing. Bad input: one `error:` line on stderr, exit status 1, nothing written.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from pathlib import Path

MAGIC = b"\x93NUMPY"
# numpy writes '<' or '>' for multi-byte types and '|' for single bytes; kind and byte count.
DESCR = re.compile(r"^([<>|=])([biuf])(\d+)$")
HOW_TO_SAVE = "save it with numpy.save(path, numpy.ascontiguousarray(array))"


class NpyError(Exception):
    """What is wrong with the file, said so that the user knows what to do."""


def header_of(data: bytes, name: str) -> tuple[dict[str, object], int]:
    """The header dictionary and the offset where the array data starts."""
    if not data.startswith(MAGIC) or len(data) < 10:
        raise NpyError(f"{name} is not a numpy .npy file (it does not start with the .npy "
                       f"magic); {HOW_TO_SAVE}, or give raw bytes in a file not named *.npy")
    major = data[6]
    if major == 1:
        length, start = int.from_bytes(data[8:10], "little"), 10
    elif major in (2, 3):
        length, start = int.from_bytes(data[8:12], "little"), 12
    else:
        raise NpyError(f"{name} is a .npy file of format version {major}, which is not read "
                       f"here (versions 1 to 3 are); {HOW_TO_SAVE}")
    text = data[start:start + length].decode("utf-8" if major == 3 else "latin1", "replace")
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        header = None
    if (not isinstance(header, dict) or len(data) < start + length
            or not {"descr", "fortran_order", "shape"} <= header.keys()):
        raise NpyError(f"{name} has a damaged .npy header; {HOW_TO_SAVE}")
    return header, start + length


def raw_bytes(data: bytes, name: str) -> bytes:
    """The array's elements in C order, little-endian."""
    header, offset = header_of(data, name)
    descr, shape = header["descr"], header["shape"]
    match = DESCR.match(descr) if isinstance(descr, str) else None
    if match is None:
        raise NpyError(f"{name} holds an array of dtype {descr!r}; tensors are numbers (int, "
                       "uint, float or bool), never Python objects or records")
    if header["fortran_order"]:
        raise NpyError(f"{name} is stored in Fortran order; {HOW_TO_SAVE}")
    if (not isinstance(shape, tuple)
            or not all(isinstance(dim, int) and dim >= 0 for dim in shape)):
        raise NpyError(f"{name} declares the impossible shape {shape!r}")
    order, itemsize = match.group(1), int(match.group(3))
    expected = math.prod(shape) * itemsize
    payload = data[offset:]
    if len(payload) != expected:
        raise NpyError(f"{name} declares shape {list(shape)} of {descr} ({expected} bytes) but "
                       f"holds {len(payload)} bytes of data: it is truncated or damaged")
    if order == ">" and itemsize > 1:
        payload = b"".join(payload[i:i + itemsize][::-1] for i in range(0, expected, itemsize))
    return payload


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: utvm_npy_to_raw.py <in.npy> <out.bin>", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    try:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise NpyError(f"cannot read {source}: {exc.strerror or exc}") from exc
        payload = raw_bytes(data, str(source))
    except NpyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not target.is_file() or target.read_bytes() != payload:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
