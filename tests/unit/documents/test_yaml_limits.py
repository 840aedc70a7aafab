"""Defensive YAML: bombs, recursion, duplicate keys, encodings, sizes, line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealgate.documents.yaml import format_path, parse_yaml, read_yaml_file
from sealgate.errors import ConfigError

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_by_alias_count() -> None:
    with pytest.raises(ConfigError, match=r"cfg\.yaml:\d+: more than 50 YAML aliases"):
        parse_yaml(BILLION_LAUGHS, source="cfg.yaml", max_aliases=50)


def test_billion_laughs_is_refused_by_expansion_even_with_many_aliases_allowed() -> None:
    with pytest.raises(ConfigError, match="expands to more than"):
        parse_yaml(BILLION_LAUGHS, source="cfg.yaml", max_aliases=1000)


def test_small_expansion_bomb_caught_by_node_cap() -> None:
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    parse_yaml(text, source="x", max_nodes=1000)
    with pytest.raises(ConfigError, match="expands to more than 50 nodes"):
        parse_yaml(text, source="x", max_nodes=50)


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match="recursive YAML alias"):
        parse_yaml("a: &a [*a]\n", source="x")


def test_ordinary_anchors_and_merge_keys_work() -> None:
    text = "base: &base {x: 1}\nchild:\n  <<: *base\n  y: 2\n"
    (doc,) = parse_yaml(text, source="x")
    assert doc.data == {"base": {"x": 1}, "child": {"x": 1, "y": 2}}


def test_duplicate_keys_name_the_line() -> None:
    with pytest.raises(ConfigError, match=r"^f\.yaml:3: duplicate key 'softFail'"):
        parse_yaml("env:\n  softFail: true\n  softFail: false\n", source="f.yaml")


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"^f\.yaml:3: invalid YAML"):
        parse_yaml("a: 1\nb:\n\t- c\n", source="f.yaml")


def test_not_utf8_and_binary_are_refused() -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_yaml(b"a: \xff\xfe\n", source="f")
    with pytest.raises(ConfigError, match="binary"):
        parse_yaml("a: b\x00c", source="f")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"nested (deeper|too deeply)"):
        parse_yaml("[" * 300 + "]" * 300, source="f")


def test_python_tags_are_not_constructed() -> None:
    with pytest.raises(ConfigError):
        parse_yaml("a: !!python/object/apply:os.system ['true']\n", source="f")


def test_multi_document_lines_and_paths() -> None:
    text = "---\na: 1\n---\nspec:\n  containers:\n    - name: x\n      image: ghcr.io/a/b:1\n"
    docs = parse_yaml(text, source="m.yaml")
    assert [d.index for d in docs] == [0, 1]
    assert docs[1].line_of(("spec", "containers", 0, "image")) == 7
    assert docs[1].line_of(("spec", "containers", 0, "missing", "deeper")) == 6
    assert docs[1].where(("spec",)) == "m.yaml:4"
    assert format_path(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    assert format_path(()) == "."


def test_read_yaml_file_caps_size_and_reports_missing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(ConfigError, match="larger than 100 bytes"):
        read_yaml_file(big, max_bytes=100)
    with pytest.raises(ConfigError, match="cannot read"):
        read_yaml_file(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: x\x07y\n", 2),  # a control character: PyYAML's ReaderError
        ("a: 1\n\x1b[31m: red\n", 2),
        ("a: 1\nversions: !!int x\n", 2),  # int("x"): ValueError from the constructor
        ("a:\n  b: 2001-13-45\n", 2),  # looks like a timestamp, is not a date
        ("a: !!float nope\n", 1),
    ],
)
def test_every_yaml_library_error_is_a_config_error_with_file_and_line(
    text: str, line: int
) -> None:
    with pytest.raises(ConfigError, match=rf"^f\.yaml:{line}: invalid YAML"):
        parse_yaml(text, source="f.yaml")
