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


def writer(version: int) -> str:
    """Who writes MLF ``version``: "TVM 0.8", ... or a sentence for versions never supported."""
    if version in WRITERS:
        return WRITERS[version]
    if version < OLDEST:
        return "a TVM 0.8 development snapshot of 2021 (before the 0.8.0 release)"
    return "a TVM newer than 0.18 (which no longer ships microTVM)"
