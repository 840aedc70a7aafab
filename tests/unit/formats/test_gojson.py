"""Go encoding/json emulation and strict decoding helpers."""

from __future__ import annotations

import pytest

from sealgate.errors import MalformedData
from sealgate.formats._gojson import b64decode, dumps, go_float, loads, sort_maps


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (1.0, "1"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (0.1, "0.1"),
        (123456789.125, "123456789.125"),
        (1e100, "1e+100"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


def test_go_float_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        go_float(float("nan"))


def test_dumps_go_layout() -> None:
    obj = {"b": [1, 2.5, True, False, None], "a": {"x": "<&>"}}
    assert dumps(obj) == b'{"b":[1,2.5,true,false,null],"a":{"x":"\\u003c\\u0026\\u003e"}}'


def test_dumps_escapes_like_go() -> None:
    text = 'q"b\\n\nt\tr\rb\bf\f\x01\x7f\u2028\u2029é\ud800'
    expected = '"q\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0001\x7f\\u2028\\u2029é\ufffd"'
    assert dumps(text) == expected.encode("utf-8")


def test_dumps_large_int_as_float64() -> None:
    assert dumps(2**60) == b"1152921504606847000"  # float64 shortest digits, like Go
    assert dumps(10**22) == b"1e+22"


def test_dumps_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})


def test_sort_maps_recursive() -> None:
    assert list(sort_maps({"b": 1, "a": {"d": 1, "c": [{"z": 1, "y": 2}]}})) == ["a", "b"]
    nested = sort_maps({"a": {"d": 1, "c": [{"z": 1, "y": 2}]}})
    assert list(nested["a"]) == ["c", "d"]
    assert list(nested["a"]["c"][0]) == ["y", "z"]


@pytest.mark.parametrize("raw", [b"{", b"NaN", b'{"a": Infinity}', b"\xff"])
def test_loads_rejects(raw: bytes) -> None:
    with pytest.raises(MalformedData, match="thing is not valid JSON"):
        loads(raw, "thing")


def test_b64decode_variants() -> None:
    assert b64decode("aGk+Pz8=", "x") == b"hi>??"
    assert b64decode("aGk-Pz8=", "x", url_safe=True) == b"hi>??"
    for bad in ("aGk-Pz8=", "aGk", "a b=", 5, "aGk+Pz8_"):
        with pytest.raises(MalformedData, match="x is not valid base64"):
            b64decode(bad, "x")
