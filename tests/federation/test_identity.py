"""Member keys, phone hashes and Relay global ids."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.idcard import check_digit, has_valid_check_digit, id_problem, normalise_id_number
from hub.errors import RequestError
from hub.federation.identity import from_global_id, member_key, phone_hash, to_global_id

SECRET = b"s" * 32
VALID = "11010519491231002X"


def test_key_is_stable_across_spellings_and_keyed_by_the_secret() -> None:
    key = member_key(SECRET, VALID)
    assert key == member_key(SECRET, " 110105 19491231002x\n")
    assert key == member_key(
        SECRET, "１１０１０５１９４９１２３１００２ｘ"
    )  # full-width, from Excel
    assert len(key) == 64 and VALID not in key
    assert key != member_key(b"t" * 32, VALID)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "11010519491231002",
        "110105194912310021",
        "11010519491231002Y",
        "11010519491231002٣",
        "1101051949123100٢X",
    ],
)
def test_invalid_id_numbers_have_no_key_and_are_not_echoed(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        member_key(SECRET, bad)
    assert bad.strip() == "" or bad not in str(info.value)


def test_normalise_and_validate() -> None:
    assert normalise_id_number(" 11010519491231002x ") == VALID
    assert has_valid_check_digit(VALID) and not has_valid_check_digit(VALID.lower())


def test_phone_hash_ignores_formatting_and_country_code() -> None:
    assert phone_hash(SECRET, "+86 138-0000-0001") == phone_hash(SECRET, "13800000001")
    assert phone_hash(SECRET, "13800000001") != phone_hash(SECRET, "13800000002")
    assert phone_hash(SECRET, "无") is None


def test_global_ids_round_trip() -> None:
    gid = to_global_id("Member", "ab" * 32)
    assert base64.b64decode(gid).decode() == "Member:" + "ab" * 32
    assert from_global_id(gid) == ("Member", "ab" * 32)
    assert from_global_id(to_global_id("Activity", "chengdu:a:1")) == ("Activity", "chengdu:a:1")


@pytest.mark.parametrize(
    "bad",
    ["", "not base64!", base64.b64encode(b"Member").decode(), base64.b64encode(b":x").decode(),
     base64.b64encode(b"Member:").decode(), base64.b64encode(b"\xff\xfe").decode()],
)
def test_bad_global_ids_are_request_errors(bad: str) -> None:
    with pytest.raises(RequestError) as info:
        from_global_id(bad)
    assert info.value.code == "BAD_REQUEST"


def test_type_name_cannot_contain_a_colon() -> None:
    with pytest.raises(ValueError):
        to_global_id("A:B", "1")


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_the_keyed_hash_is_hmac_sha256(key_length: int) -> None:
    """hmac_sha256_hex (the key's pads hashed once) gives hmac's digest for short, block-sized
    and long keys (hashed first, RFC 2104)."""
    import hashlib
    import hmac

    from hub.federation.identity import hmac_sha256_hex

    secret = bytes((i * 7 + key_length) % 256 for i in range(key_length))
    for data in (b"", b"510521198601052071", "张三".encode() * 50):
        expected = hmac.new(secret, data, hashlib.sha256).hexdigest()
        assert hmac_sha256_hex(secret, data) == expected
        assert hmac_sha256_hex(secret, data) == expected  # the cached pads are not consumed


# ---- the fast paths of connectors.idcard, against the plain definitions ---------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _plain_normalise(raw: object) -> str:
    """normalise_id_number before its ASCII fast path."""
    full_width = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: 0x58, 0xFF58: 0x58}
    return re.sub(r"[\s\-]", "", str(raw).strip().translate(full_width)).upper()


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.text(alphabet=st.sampled_from("0123456789xXaZ -\t\n\u3000０１ｘＸ٣²ß"), max_size=20),
    st.text(max_size=20), st.integers(), st.floats(allow_nan=False),
))
def test_normalise_fast_path_is_the_plain_one(raw: object) -> None:
    assert normalise_id_number(raw) == _plain_normalise(raw)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_check_digit_is_the_mod_11_2_definition(first17: str, last: str) -> None:
    expected = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]
    assert check_digit(first17) == expected
    assert has_valid_check_digit(first17 + last) == (last == expected)
    assert (id_problem(first17 + last) or "").startswith("check digit") == (
        last != expected and id_problem(first17 + expected) is None)
