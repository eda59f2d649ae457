"""Random RFC 4180 files for property tests, with their row schema.

Nasty on purpose: quoted delimiters, `""`, CR, LF and CRLF inside quotes, multi-line quoted
values of any length (up to several MiB, filled from a seed so they are cheap to draw and
shrink), U+FEFF anywhere (a record's first character, a value's, the file's own BOM),
non-ASCII text, LF / CRLF / CR record ends, blank lines, rows with too many or too few
fields, numbers with long exponents, and optionally a last record whose quote never
closes and bytes that are not UTF-8. `label` comes first, so U+FEFF and quotes often start
a record and so a chunk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import strategies as st

BOM = "\ufeff"
HEADER = ["label", "id", "note", "amount", "qty", "kind"]
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "amount"],
    "properties": {
        "label": {"type": "string", "maxLength": 12},
        "id": {"type": "string", "pattern": "^R[0-9]{6}$"},
        "note": {"type": "string"},
        "amount": {"type": "number", "multipleOf": 0.01, "minimum": -1000000,
                   "maximum": 1000000},
        "qty": {"type": "integer", "minimum": 0, "maximum": 1000},
        "kind": {"type": "string", "enum": ["a", "b", "c"]},
    },
}
NOTE_ALPHABET = 'ab ,\n\r"é\ufeff'


@dataclass(frozen=True)
class LongText:
    """A long value drawn from a seed: hypothesis shrinks the length and the seed."""

    length: int
    seed: int
    quotes: bool

    def text(self) -> str:
        rng = random.Random(self.seed)
        alphabet = NOTE_ALPHABET if self.quotes else NOTE_ALPHABET.replace('"', "")
        return "".join(rng.choices(alphabet, k=self.length))


def quote(field: str, force: bool) -> str:
    if force or any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


label = st.one_of(
    st.sampled_from(["", "plain", BOM + "eleven-chrs", BOM + "twelve-chars", "twelve-chars",
                     BOM, 'say "hi"', "a,b", "x\r\ny", "日本語", "é" * 12, "é" * 13]),
    st.text(alphabet=NOTE_ALPHABET + "xyz", max_size=14),
)
identifier = st.one_of(st.integers(0, 999_999).map(lambda n: f"R{n:06d}"),
                       st.sampled_from([BOM + "R000001", "R1", "", "r000001"]))
amount = st.one_of(
    st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2, allow_nan=False,
                allow_infinity=False).map(str),
    st.sampled_from(["0e10000", "1.5E+00002", "1e-10000", "+5", ".5", "5.", "12.345",
                     "-0", "1,5", "", "1000000.01", BOM + "1"]),
)
quantity = st.one_of(st.integers(0, 1000).map(str),
                     st.sampled_from(["", "+7", "1001", "-1", "1.0", "007", "9" * 20]))
kind = st.sampled_from(["a", "b", "c", "", "d", "A"])
short_note = st.text(alphabet=NOTE_ALPHABET + "xyz0", max_size=20)


@st.composite
def notes(draw: st.DrawFn, long_max: int) -> str:
    if long_max and draw(st.integers(0, 9)) == 0:
        length = draw(st.one_of(st.integers(1, min(long_max, 4000)),
                                st.integers(max(1, long_max // 3), long_max)))
        return LongText(length, draw(st.integers(0, 2**16)), draw(st.booleans())).text()
    return draw(short_note)


@st.composite
def records(draw: st.DrawFn, long_max: int) -> str:
    fields = [draw(label), draw(identifier), draw(notes(long_max)), draw(amount),
              draw(quantity), draw(kind)]
    shape = draw(st.integers(0, 19))
    if shape == 0:
        fields.append(draw(short_note))
    elif shape == 1:
        fields = fields[:draw(st.integers(1, 5))]
    text = ",".join(quote(f, force=draw(st.integers(0, 7)) == 0) for f in fields)
    return text or '""'  # an empty record would be a blank line


@dataclass(frozen=True)
class GeneratedFile:
    data: bytes
    unterminated: tuple[int, str] | None  # (offset, raw) of a never-closed last record


UNDECODABLE = [b"\xff", b"\xe9", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
               b"\xc0\xaf", b"\x80\x80", b"\xf0\x9f\x98"]
"""Byte runs that are not UTF-8: a lone byte, a cut sequence, a surrogate, beyond U+10FFFF,
an overlong form, stray continuation bytes."""


@st.composite
def csv_files(draw: st.DrawFn, max_rows: int = 40, long_max: int = 0,
              undecodable: int = 0) -> GeneratedFile:
    """With `undecodable`, up to that many runs of bytes that are not UTF-8 at random
    places after the header line (in a value, a quoted line break, a blank line, between
    a CR and its LF, at the very end), never in a last record whose quote never closes
    and never next to a quote."""
    newline = st.sampled_from(["\n", "\r\n", "\r\n", "\r"])
    out = BOM if draw(st.booleans()) else ""
    out += ",".join(HEADER) + draw(newline)
    for record in draw(st.lists(records(long_max), min_size=1, max_size=max_rows)):
        out += record + draw(newline)
        if draw(st.integers(0, 14)) == 0:
            out += draw(newline)  # a blank line: no row
    if draw(st.integers(0, 5)) == 0:
        out = out.rstrip("\r\n")  # no line break after the last record
    unterminated = None
    if draw(st.integers(0, 7)) == 0:
        if out and not out.endswith(("\n", "\r")):
            out += "\n"
        offset = len(out.encode())
        tail = 'oops,R000002,"never closed' + draw(short_note).replace('"', "") + \
            draw(st.sampled_from(["", "\n", "\r\n"]))
        out += tail
        unterminated = (offset, _without_one_line_break(tail))
    data = out.encode()
    if undecodable:
        data, unterminated = _with_undecodable_bytes(draw, data, unterminated, undecodable)
    return GeneratedFile(data, unterminated)


def _with_undecodable_bytes(draw: st.DrawFn, data: bytes,
                            unterminated: tuple[int, str] | None,
                            most: int) -> tuple[bytes, tuple[int, str] | None]:
    header_end = min(at for at in (data.find(b"\n"), data.find(b"\r"), len(data)) if at >= 0)
    limit = unterminated[0] if unterminated is not None else len(data) + 1
    if limit <= header_end + 1:
        return data, unterminated
    # never next to a quote: text right after a closing quote is not RFC 4180, where
    # Python's csv module and pyarrow part ways
    place = st.integers(header_end + 1, limit - 1).filter(
        lambda at: b'"' not in data[at - 1:at + 1])
    places = draw(st.lists(place, min_size=1, max_size=most))
    runs = [draw(st.sampled_from(UNDECODABLE)) for _ in places]
    out = bytearray(data)
    for place, run in sorted(zip(places, runs, strict=True), reverse=True):
        out[place:place] = run
    if unterminated is not None:
        unterminated = (unterminated[0] + sum(map(len, runs)), unterminated[1])
    return bytes(out), unterminated


def _without_one_line_break(text: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text
