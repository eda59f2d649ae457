"""JSON string escaping of whole Arrow string columns, exactly as `json.dumps(text,
ensure_ascii=False)` writes the inside of a string: a backslash, a quote and the control
characters escaped (`\\n`, `\\r`, `\\t`, `\\b`, `\\f`, else `\\u00xx`), everything else as
it is. A few passes of Arrow's substring replacement; the rare values holding another
control character are escaped by `json` itself, one by one."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()
_SHORT_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                  ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f"))
_RARE = r"[\x00-\x07\x0b\x0e-\x1f]"
_ANY = r'[\x00-\x1f"\\]'


def text(value: str) -> pa.Scalar:
    return pa.scalar(value, TEXT)


def escaped(values: pa.Array) -> pa.Array:
    """The JSON text inside the quotes, per value (a large_string array without nulls)."""
    values = values.cast(TEXT)
    if not len(values) or not pc.any(pc.match_substring_regex(values, _ANY)).as_py():
        return values
    rare = np.asarray(pc.match_substring_regex(values, _RARE).to_numpy(zero_copy_only=False),
                      bool)
    out = values
    for plain, escape in _SHORT_ESCAPES:
        if pc.any(pc.match_substring(out, plain)).as_py():
            out = pc.replace_substring(out, plain, escape)
    if rare.any():
        mask = pa.array(rare)
        exact = [json.dumps(value, ensure_ascii=False)[1:-1]
                 for value in values.filter(mask).to_pylist()]
        out = pc.replace_with_mask(out, mask, pa.array(exact, TEXT))
    return out


def joined(*parts: pa.Array | pa.Scalar) -> pa.Array:
    """Element-wise concatenation (a null part makes the row null)."""
    return pc.binary_join_element_wise(
        *[part if isinstance(part, pa.Scalar) else part.cast(TEXT) for part in parts],
        text(""))


def joined_present(parts: list[pa.Array], separator: str) -> pa.Array:
    """Per row, its non-null parts joined by `separator` (every row has one at least).
    Not Arrow's `null_handling="skip"`, which drops the rows where every part is null."""
    if len(parts) == 1:
        return parts[0]
    led = [joined(text(separator), part) for part in parts]
    whole = pc.binary_join_element_wise(*led, text(""), null_handling="replace",
                                        null_replacement="")
    return pc.utf8_slice_codeunits(whole, len(separator))


def quoted_json(value: str | None) -> str:
    """One value as JSON text, for the constant parts of a line."""
    return json.dumps(value, ensure_ascii=False)
