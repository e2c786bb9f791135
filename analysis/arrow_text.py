"""Arrow-backed text: a text Series as an Arrow array, and a scan of its bytes for anything but printable ASCII.

Cleaning (:mod:`analysis.data.clean`) reads every id and text cell through these; the data contracts
(:mod:`analysis.contract`) use :func:`printable_ascii` to see at once that a clean column holds no control
character.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A text Series (``str``, ``string`` or object holding only text) as an Arrow ``large_string`` array."""
    if isinstance(values.dtype, pd.StringDtype):
        arr = pa.array(values.array)
    else:
        arr = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def byte_scan(arr: pa.ChunkedArray) -> tuple[bool, bool]:
    """Whether every value of the ``large_string`` array is printable ASCII (bytes 0x20..0x7e: no control
    character, nothing to case-fold beyond ASCII), and whether a value starts or ends with a space: read from
    the Arrow buffers with numpy, without looking at the values one by one (bytes under null slots count too,
    which can only send the text the slower way)."""
    padded = False
    for chunk in arr.chunks:
        buffers = chunk.buffers()
        if len(chunk) == 0 or buffers[2] is None:
            continue
        offsets = np.frombuffer(buffers[1], dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(buffers[2], dtype=np.uint8)
        used = data[offsets[0] : offsets[-1]]
        if ((used < 0x20) | (used > 0x7E)).any():
            return False, True
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        padded = padded or bool((data[starts[filled]] == 0x20).any() or (data[ends[filled] - 1] == 0x20).any())
    return True, padded


def printable_ascii(values: pd.Series) -> bool:
    """True when every value of an Arrow-backed text Series is printable ASCII (so it has no control character),
    found from the bytes without a regex; False when it is not Arrow text or might not be."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return False
    return byte_scan(arrow_text(values))[0]
