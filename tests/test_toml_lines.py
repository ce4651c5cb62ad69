"""Line numbers of TOML files: found only when a message needs one, and keys split as tomllib
splits them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cadence.inputs import tomlfile
from cadence.inputs.config import load_config
from cadence.inputs.tomlfile import LocatedToml, _decode_key
from cadence.values.errors import UserError

bare = st.text(
    alphabet="abcXYZ019_-", min_size=1, max_size=6
)  # every kind of character a bare key may hold
quoted = st.one_of(
    st.text(alphabet='abc .="\\', max_size=5).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
    st.text(alphabet="abc .=", max_size=5).map(lambda t: f"'{t}'"),
)
space = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def keys(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(bare, bare, quoted), min_size=1, max_size=4))
    text = parts[0]
    for part in parts[1:]:
        text += f"{draw(space)}.{draw(space)}{part}"
    return f"{draw(space)}{text}{draw(space)}"


@given(keys())
@example("a . b")
@example("segment.smb")
@example('a."b c".d')
def test_a_key_is_split_as_tomllib_splits_it(text: str) -> None:
    node = tomllib.loads(f"{text.strip()} = 0")
    parts: list[str] = []
    while isinstance(node, dict):
        (key, node), *_ = node.items()
        parts.append(key)
    assert _decode_key(text) == tuple(parts)


def _config(tmp_path: Path, salespeople: str) -> Path:
    (tmp_path / "policies").mkdir()
    path = tmp_path / "cadence.toml"
    path.write_text('[calendar]\nbackend = "memory"\n' + salespeople, encoding="utf-8")
    return path


def _person(email: str) -> str:
    return f'\n[[salesperson]]\nemail = "{email}"\ntimezone = "Europe/Lisbon"\ncountry = "PT"\n'


def test_a_file_without_problems_is_never_scanned_for_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[str] = []
    real = tomlfile._scan
    monkeypatch.setattr(tomlfile, "_scan", lambda text: scans.append(text) or real(text))
    path = _config(tmp_path, _person("ana@example.com") + _person("bo@example.com"))
    assert [p.email for p in load_config(path).salespeople] == [
        "ana@example.com",
        "bo@example.com",
    ]
    assert scans == []


def test_a_problem_still_names_its_line(tmp_path: Path) -> None:
    path = _config(tmp_path, _person("ana@example.com") + _person("ANA@example.com"))
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path.resolve()}:10: [[salesperson]] email: salesperson ana@example.com is already "
        "listed at line 5"
    ]
    doc = LocatedToml(path)
    assert doc.line(("salesperson", 1), "country") == 12
