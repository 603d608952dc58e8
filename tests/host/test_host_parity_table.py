"""docs/ovms_host_parity.md stays true: every row names tests that exist and cites OVMS
source in the documented form; each of the eight areas (P1-P8) has rows. With
OVMS_SOURCE_GIT set to a clone's git dir, the cited files and lines are checked there too."""
import ast
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "docs" / "ovms_host_parity.md"
ROW = re.compile(r"^\| (P\d\.\d+) \|(.*)\|\s*$")
SOURCE = re.compile(r"`((?:docs/)?[\w./-]+\.(?:cc|cpp|hpp|md)):L(\d+)(?:-(\d+))?`")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> list[tuple[str, list[str]]]:
    out = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            cells = [c.strip() for c in m.group(2).split(" | ")]
            out.append((m.group(1), cells))
    return out


def commit() -> str:
    m = re.search(r"main at `([0-9a-f]{7,40})`", TABLE.read_text(encoding="utf-8"))
    assert m, "the table must say which OVMS commit its line numbers refer to"
    return m.group(1)


@lru_cache(maxsize=None)
def functions_in(path: str) -> frozenset:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))


def test_the_table_covers_the_eight_areas_with_unique_rows():
    ids = [row_id for row_id, _ in rows()]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    assert {i.split(".")[0] for i in ids} == {f"P{n}" for n in range(1, 9)}
    assert all(len(cells) == 4 for _, cells in rows()), "each row: does | source | host | tests"


@pytest.mark.parametrize("row_id, cells", rows(), ids=[r for r, _ in rows()])
def test_each_row_cites_source_and_names_existing_tests(row_id, cells):
    _, source, _, tests = cells
    cited = SOURCE.findall(source)
    assert cited and len(cited) == source.count("`") // 2, f"{row_id}: malformed source {source!r}"
    named = TEST.findall(tests)
    assert named and len(named) == tests.count("`") // 2, f"{row_id}: malformed tests {tests!r}"
    for path, name in named:
        assert (REPO / path).is_file(), f"{row_id}: {path} does not exist"
        assert name in functions_in(path), f"{row_id}: {path} has no test {name}"


@pytest.mark.skipif(not os.environ.get("OVMS_SOURCE_GIT"), reason="OVMS_SOURCE_GIT is not set")
def test_cited_lines_exist_in_ovms_source():
    for row_id, cells in rows():
        for path, first, last in SOURCE.findall(cells[1]):
            full = path if path.startswith("docs/") else f"src/{path}"
            shown = subprocess.run(["git", "--git-dir", os.environ["OVMS_SOURCE_GIT"], "show",
                                    f"{commit()}:{full}"], capture_output=True, text=True)
            assert shown.returncode == 0, f"{row_id}: {full} is not in OVMS at {commit()}"
            assert len(shown.stdout.splitlines()) >= int(last or first), f"{row_id}: {full}:L{last}"
