"""Cache keys from content: the same key for equal inputs however they are laid out."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle

import numpy as np
import pandas as pd


def content_key(*parts) -> str:
    """A digest of what ``parts`` hold, the same for equal content however it is laid out.

    Pickled bytes are not such a key: a frame fresh from a computation and its copy read back
    from ``st.cache_data`` pickle differently (block layout, shared strings), so every chart
    was built twice. Here a frame is its column names, index, dtypes and each column's
    values; arrays their dtype, shape and bytes (text by ``repr``); containers and dataclasses
    their items, each length-prefixed and typed, so different content never gives one key.
    Anything else is pickled (a miss at worst, never a wrong hit: equal bytes, equal object).
    Written here because Streamlit's hasher, which does this, is the slow part.
    """
    h = hashlib.blake2b(digest_size=20)
    _feed(h, parts)
    return h.hexdigest()


def _put(h, tag: bytes, data: bytes) -> None:
    h.update(tag + len(data).to_bytes(8, "little") + data)


def _feed(h, obj) -> None:
    if obj is None or isinstance(obj, bool | int | float | str | bytes | complex):
        _put(h, b"v", f"{type(obj).__name__}:{obj!r}".encode())
    elif isinstance(obj, pd.DataFrame):
        _put(h, b"F", repr(obj.shape).encode())
        _feed(h, obj.index)
        for i in range(obj.shape[1]):
            _feed(h, obj.iloc[:, i])
    elif isinstance(obj, pd.Series | pd.Index):
        _put(h, b"S" if isinstance(obj, pd.Series) else b"I", repr((obj.name, obj.dtype)).encode())
        if isinstance(obj, pd.Series):
            _feed(h, obj.index)
        _feed(h, obj.to_numpy())
    elif isinstance(obj, np.ndarray):
        _put(h, b"A", f"{obj.dtype.str}{obj.shape}".encode())
        data = repr(obj.tolist()) if obj.dtype.hasobject else np.ascontiguousarray(obj).data
        _put(h, b"a", data.encode() if isinstance(data, str) else bytes(data))
    elif isinstance(obj, list | tuple):
        _put(h, b"L" if isinstance(obj, list) else b"T", str(len(obj)).encode())
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, dict):
        _put(h, b"D", str(len(obj)).encode())
        for k, v in obj.items():
            _feed(h, k)
            _feed(h, v)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _put(h, b"C", type(obj).__qualname__.encode())
        for f in dataclasses.fields(obj):
            _feed(h, f.name)
            _feed(h, getattr(obj, f.name))
    else:
        _put(h, b"P", type(obj).__qualname__.encode() + pickle.dumps(obj, protocol=5))
