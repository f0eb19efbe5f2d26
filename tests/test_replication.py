"""The replication-package runner (effekt.replication, `effekt reproduce`).

Tiny packages are written into tmp folders: a one-cell notebook that writes results.json and
an expected.json with hand-chosen numbers, so every expected outcome (pass, outside tolerance,
missing key) is known by construction. The real packages in papers/ run in the slow suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import nbformat
import pytest

from effekt.cli import main
from effekt.errors import ReplicationError
from effekt.replication import (
    ReplicationResult,
    compare,
    find_packages,
    reproduce,
    validate_expected,
)

ROOT = Path(__file__).resolve().parents[1]


def _quantity(key, value, tolerance, **kw):
    return {
        "key": key,
        "value": value,
        "tolerance": tolerance,
        "source": "Table 1",
        "note": "n",
    } | kw


def _expected(*quantities, **kw):
    return {
        "paper": "A. Author (2020). A paper.",
        "doi": "10.1000/xyz",
        "quantities": list(quantities),
    } | kw


def _package(folder: Path, cell: str, expected: dict) -> Path:
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nbformat.write(nb, folder / "replicate.ipynb")
    (folder / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    return folder


def _writes(results: dict) -> str:
    return f"import json\njson.dump({results!r}, open('results.json', 'w'))"


@pytest.fixture(scope="module")
def papers(tmp_path_factory):
    root = tmp_path_factory.mktemp("papers")
    good = _package(
        root / "good_2020", _writes({"x": 1.04, "sim": 7.0}), _expected(_quantity("x", 1.0, 0.05))
    )
    # a stale results.json left in the folder must not be what gets checked
    (good / "results.json").write_text(json.dumps({"x": 999.0}))
    _package(
        root / "bad_2021",
        _writes({"x": 1.2}),
        _expected(_quantity("x", 1.0, 0.05), _quantity("y", 2.0, 0.1)),
    )
    return root


# ----------------------------------------------------------------------- compare (no kernel)
def test_compare_within_outside_and_missing():
    expected = _expected(
        _quantity("a", -15.6, 0.05),  # -15.65 is on the edge: inside (float slack)
        _quantity("b", 8.4, 1.0),
        _quantity("c", 1.0, 0.0),  # zero tolerance: exact match only
        _quantity("d", 3.0, 0.5),  # not written by the notebook
    )
    res = compare(expected, {"a": -15.65, "b": 9.6, "c": 1.0, "extra": 2.0})
    frame = res.to_frame()
    assert list(frame.columns) == [
        "key", "published", "reproduced", "difference", "tolerance", "ok", "source", "note",
    ]  # fmt: skip
    assert frame["ok"].tolist() == [True, False, True, False]
    assert frame.loc[1, "difference"] == pytest.approx(1.2)
    assert frame.loc[3, "reproduced"] != frame.loc[3, "reproduced"]  # NaN for the missing key
    assert res.failing == ("b", "d") and not res.ok
    assert res.extra == {"extra": 2.0}


def test_result_summary_html_and_plot():
    res = compare(_expected(_quantity("a", 1.0, 0.1), _quantity("b", 2.0, 0.1)), {"a": 1.05})
    text = str(res.summary())
    assert "FAILED" in text and "1 of 2" in text and "Outside tolerance or missing: b." in text
    assert "<table" in res._repr_html_() and "FAILED" in repr(res)
    matplotlib.use("Agg")
    ax = res.plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    matplotlib.pyplot.close("all")


def test_compare_never_mutates_and_result_is_frozen():
    expected = _expected(_quantity("a", 1.0, 0.1))
    before = json.dumps(expected)
    res = compare(expected, {"a": 1.0})
    assert json.dumps(expected) == before
    with pytest.raises(AttributeError):
        res.paper = "other"  # type: ignore[misc]
    frame = res.to_frame()
    frame.loc[0, "ok"] = False
    assert res.ok  # to_frame returns a copy


@pytest.mark.parametrize(
    ("results", "match"),
    [
        ({"a": "1.0"}, r"finite numbers; these entries are not: \{'a': '1.0'\}"),
        ({"a": float("nan")}, "finite numbers"),
        ({"a": True}, "finite numbers"),
        ([1.0], r"must hold a JSON object \{key: number\}"),
    ],
)
def test_compare_rejects_malformed_results(results, match):
    with pytest.raises(ReplicationError, match=match):
        compare(_expected(_quantity("a", 1.0, 0.1)), results)


# ----------------------------------------------------------------------- validate_expected
@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "is not valid JSON"),
        ('{"paper": "p", "doi": "", "url": "u", "quantities": [{"key": "a", "value": NaN, '
         '"tolerance": 1, "source": "s", "note": "n"}]}', "NaN is not a valid JSON number"),
        (json.dumps(_expected(_quantity("a", 1.0, -0.1))), r"\[0\]\.tolerance: -0.1 is less"),
        (json.dumps(_expected({"key": "a", "value": 1.0, "source": "s", "note": "n"})),
         "'tolerance' is a required property"),
        (json.dumps(_expected(_quantity("a", "1.0", 0.1))), r"\[0\]\.value: '1.0' is not"),
        (json.dumps(_expected(_quantity("a", 1.0, 0.1), _quantity("a", 2.0, 0.1))),
         r"lists the key\(s\) \['a'\] more than once"),
        (json.dumps(_expected(_quantity("a", 1.0, 0.1), doi="")), "empty 'doi' and no 'url'"),
        (json.dumps(_expected(_quantity("a", 1.0, 0.1), doi="doi.org/10.1")), "doi: "),
        (json.dumps(_expected()), "quantities: .* should be non-empty"),
        (json.dumps(_expected(_quantity("a", 1.0, 0.1), extra=1)), "unknown key\\(s\\) 'extra'"),
    ],
)  # fmt: skip
def test_validate_expected_rejects_malformed_files(tmp_path, content, match):
    (tmp_path / "expected.json").write_text(content, encoding="utf-8")
    with pytest.raises(ReplicationError, match=match):
        validate_expected(tmp_path)


def test_validate_expected_accepts_a_url_instead_of_a_doi(tmp_path):
    spec = _expected(_quantity("a", 1.0, 0.1), doi="", url="https://cfbu.dk/")
    (tmp_path / "expected.json").write_text(json.dumps(spec), encoding="utf-8")
    assert validate_expected(tmp_path / "expected.json") == spec


def test_missing_expected_file(tmp_path):
    with pytest.raises(ReplicationError, match=r"expected-numbers file .*expected.json.* does not"):
        validate_expected(tmp_path)


def test_schema_file_is_a_valid_json_schema():
    import jsonschema

    schema = json.loads((ROOT / "data_schemas" / "expected.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_shipped_package_has_a_valid_expected_file():
    for folder in find_packages(ROOT / "papers"):
        spec = validate_expected(folder)
        assert (folder / "replicate.ipynb").is_file() and (folder / "README.md").is_file()
        nb = nbformat.read(folder / "replicate.ipynb", as_version=4)
        # stored without outputs
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), folder
        assert spec["quantities"], folder


# ----------------------------------------------------------------------- reproduce (kernel)
def test_reproduce_missing_folder_and_notebook(tmp_path):
    with pytest.raises(ReplicationError, match="is not a directory"):
        reproduce(tmp_path / "nope")
    (tmp_path / "expected.json").write_text(json.dumps(_expected(_quantity("a", 1.0, 0.1))))
    with pytest.raises(ReplicationError, match="has no replicate.ipynb"):
        reproduce(tmp_path)


def test_reproduce_passes_and_ignores_stale_results(papers):
    res = reproduce(papers / "good_2020")
    assert isinstance(res, ReplicationResult) and res.ok
    assert res.to_frame().loc[0, "reproduced"] == 1.04  # not the stale 999
    assert res.extra == {"sim": 7.0} and res.seconds > 0
    # the package folder is not written to: the stale file is still there, unchanged
    assert json.loads((papers / "good_2020" / "results.json").read_text()) == {"x": 999.0}


def test_reproduce_outside_tolerance_and_missing_key(papers):
    with pytest.raises(ReplicationError, match=r"did not reproduce 2 of 2 .*\(x, y\)") as info:
        reproduce(papers / "bad_2021")
    assert info.value.failing == ("x", "y")
    assert info.value.result.to_frame()["reproduced"].tolist()[0] == 1.2


def test_reproduce_failing_notebook_and_no_results(tmp_path):
    broken = _package(
        tmp_path / "broken", "raise RuntimeError('boom')", _expected(_quantity("a", 1, 0))
    )
    with pytest.raises(ReplicationError, match=r"(?s)failed:.*RuntimeError: boom"):
        reproduce(broken)
    silent = _package(tmp_path / "silent", "x = 1", _expected(_quantity("a", 1, 0)))
    with pytest.raises(
        ReplicationError, match=r"results file written by replicate.ipynb.*does not"
    ):
        reproduce(silent)


def test_cli_exit_codes(papers, capsys):
    assert main(["reproduce", "--all", "--papers-dir", str(papers)]) == 1
    out, err = capsys.readouterr()
    assert "ok   " in out and "good_2020" in out
    assert "FAIL" in err and "bad_2021" in err and "y: published 2" in err
    assert main(["reproduce", "good_2020", "--papers-dir", str(papers)]) == 0
    assert main(["reproduce"]) == 2
    assert "give either PAPER or --all" in capsys.readouterr().err
    assert main(["reproduce", "--all", "--papers-dir", str(papers / "nope")]) == 1
    assert "is not a directory" in capsys.readouterr().err


# ----------------------------------------------------------------------- the real packages
@pytest.mark.slow
@pytest.mark.parametrize("slug", ["callaway_santanna_2021", "arkhangelsky_2021"])
def test_paper_reproduces(slug):
    res = reproduce(ROOT / "papers" / slug)
    assert res.ok, res.summary()
