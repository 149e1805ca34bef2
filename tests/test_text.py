"""verify.text: the sanitiser's fast path returns exactly what the full scrub returns, on any text."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from verify import text

# What the scrub acts on, each kind drawn as often as the others: C0 and C1 controls and DEL (ESC and \r among
# them), bidirectional controls, lone surrogates; what isprintable() refuses and the scrub keeps (\n, \t, soft
# hyphen, ZWJ, U+2028/9, BOM, private use, unassigned); the characters just outside the scrub's ranges; pieces of
# escape sequences; anything.
_CONTROLS = [chr(c) for c in (*range(0x00, 0x20), *range(0x7f, 0xa0))]
_BIDI = [chr(c) for c in (0x061c, 0x200e, 0x200f, *range(0x202a, 0x202f), *range(0x2066, 0x206a))]
_SURROGATES = [chr(c) for c in (0xd800, 0xdbff, 0xdc00, 0xdfff, 0xdabc)]
_KEPT = ["\n", "\t", "\xad", "\u200d", "\u2028", "\u2029", "\ufeff", "\ue000", "\U000e0001", "\u0378"]
_EDGES = [chr(c) for c in (0x20, 0x7e, 0xa0, 0x061b, 0x061d, 0x200d, 0x2010, 0x2029, 0x202f, 0x2065, 0x206a,
                           0xd7ff, 0xe000, 0xfffd)]
_PIECES = ["\x1b[", "\x1b]", "\x1b\\", "\x07", "[2J", "31m", "\r\n", "0;title", "é", "∂", "🙂"]
_TEXT = st.lists(st.one_of(*(st.sampled_from(kind) for kind in (_CONTROLS, _BIDI, _SURROGATES, _KEPT, _EDGES,
                                                                   _PIECES)),
                           st.characters(codec=None, exclude_categories=())),
                 max_size=12).map("".join)


@settings(max_examples=300)
@given(_TEXT)
@example("\n\ud800")
@example("\t\u202e")
@example("\u2028\x1b[0m")
@example("\xad\r")
def test_the_fast_path_returns_what_the_scrub_returns(s):
    out = text.sanitise(s)
    assert out == text._scrub(s) and type(out) is str
    assert text._TOUCHED.search(out) is None and text.sanitise(out) == out      # safe as it is


def test_a_text_that_lies_about_itself_is_still_scrubbed():
    class Printable(str):
        def isprintable(self):
            return True

    class Loud(Exception):
        def __str__(self):
            return Printable("PASS\x1b[2J\u202e")

    assert text.sanitise(Loud()) == "PASS?" and type(text.sanitise(Loud())) is str
    assert text.sanitise(Printable("ok")) == "ok" and type(text.sanitise(Printable("ok"))) is str
