"""RFC 8785 canonicalisation (official vectors) and strict parsing."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.canonical_json import b64url, b64url_decode, canonical, loads_canonical, strict_loads
from hub.errors import ContractError

# RFC 8785 Appendix B: IEEE 754 bit pattern -> canonical JSON number
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical(value) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_rfc8785_refuses_nan_and_infinity(bits: str) -> None:
    with pytest.raises(ContractError):
        canonical(struct.unpack(">d", bytes.fromhex(bits))[0])


def test_rfc8785_section_3_2_3_sorting() -> None:
    source = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", '
        '"\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", '
        '"\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", '
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    out = json.loads(canonical(json.loads(source)))
    assert list(out.values()) == [
        "Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
        "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh",
    ]


def test_rfc8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical(json.loads(source)) == expected


def test_duplicate_keys_refused() -> None:
    with pytest.raises(ContractError, match="duplicate JSON key 'role'"):
        strict_loads('{"role": "origin", "role": "destination"}')


def test_duplicate_keys_refused_when_nested() -> None:
    with pytest.raises(ContractError, match="duplicate"):
        strict_loads('{"a": [{"x": 1, "x": 1}]}')


def test_non_canonical_refused() -> None:
    assert loads_canonical(b'{"a":1,"b":2}') == {"a": 1, "b": 2}
    for text in (b'{"b":2,"a":1}', b'{"a": 1}', b'{"a":1.0}'):
        with pytest.raises(ContractError, match="not RFC 8785 canonical"):
            loads_canonical(text)


def test_nan_literal_refused() -> None:
    with pytest.raises(ContractError):
        strict_loads('{"a": NaN}')


def test_b64url_round_trip_and_refusals() -> None:
    data = bytes(range(256))
    assert b64url_decode(b64url(data)) == data
    with pytest.raises(ContractError):
        b64url_decode("YQ==")
    with pytest.raises(ContractError):
        b64url_decode("a+b/")


# what canonical() takes its fast way (the C encoder) for, and what it must not
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.text() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**60), max_value=2**60),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


def _same_as_rfc8785(value: Any) -> None:
    """`canonical(value)` is rfc8785's bytes, or refused where rfc8785 refuses `value`."""
    try:
        expected: bytes | None = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        expected = None
    if expected is None:
        with pytest.raises(ContractError):
            canonical(value)
    else:
        assert canonical(value) == expected


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES)
def test_canonical_is_rfc8785_for_any_json(value: Any) -> None:
    """The fast way gives rfc8785's bytes exactly, and refuses what rfc8785 refuses (lone
    surrogates, integers beyond 2**53 - 1), whatever the strings and keys hold."""
    _same_as_rfc8785(value)


@pytest.mark.parametrize("value", [
    {"\ue000": 1, "\U0001f600": 2, "a": [True, None, "\x00\x1f\x7f\u2028\"\\"]},
    {1: "a"}, {"k": 2**53}, {"k": -(2**53)}, {"k": [2**53 - 1, 1.0, 1e21]},
    ("a", "b"), {"k": ("x", {"y": ()})}, "\ud800",
])
def test_canonical_edges_match_rfc8785(value: object) -> None:
    """UTF-16 key order beyond the BMP, controls, non-string keys, the integer bounds,
    floats, tuples and a lone surrogate: each as rfc8785 writes (or refuses) it."""
    _same_as_rfc8785(value)
