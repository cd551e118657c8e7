"""Which TVM releases wrote which Model Library Format version (from TVM's history of
``python/tvm/micro/model_library_format.py``), for messages and ``utvm info``.

MLF 5 came with TVM 0.8.0, the first release with the format (versions 1 to 4 lived only in
0.8 development snapshots). Version 6 (targets as a list) existed only in 0.9 development
snapshots of May and June 2022; version 7 (several modules) is what TVM 0.9.0 to 0.18.0
write. microTVM, and the format with it, left TVM after 0.18.
"""

from __future__ import annotations

WRITERS = {
    5: "TVM 0.8",
    6: "a TVM 0.9 development snapshot of May-June 2022",
    7: "TVM 0.9 to 0.18",
}
OLDEST, NEWEST = min(WRITERS), max(WRITERS)
# The first release whose metadata.json lists each input's and output's dtype and size.
FIRST_WITH_TENSOR_RECORDS = "TVM 0.11"


def writer(version: int) -> str:
    """Who writes MLF ``version``: "TVM 0.8", ... or a sentence for versions never supported."""
    if version in WRITERS:
        return WRITERS[version]
    if version < OLDEST:
        return "a TVM 0.8 development snapshot of 2021 (before the 0.8.0 release)"
    return "a TVM newer than 0.18 (which no longer ships microTVM)"


def without_tensor_records(version: int) -> str:
    """A sentence for an export whose metadata.json lists no per-tensor dtypes and sizes:
    who wrote it (of version 7, only TVM 0.9 and 0.10 left them out) and who lists them."""
    made_by = "TVM 0.9 or 0.10" if version == 7 else writer(version)
    return (f"this MLF version {version} export comes from {made_by}; "
            f"{FIRST_WITH_TENSOR_RECORDS} was the first to list them")
