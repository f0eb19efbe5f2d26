"""Package-wide options and the error hierarchy."""

from __future__ import annotations

import pytest

import effekt as ek
from effekt.errors import check_choice, invalid_parameter


def test_defaults():
    assert dict(ek.options) == {
        "ci_level": 0.95,
        "language": "en",
        "display_max_rows": 20,
        "min_cell_count": 5,
        "progress": True,
        "threads": None,
    }


def test_context_manager_restores():
    with ek.set_options(ci_level=0.9, language="da"):
        assert ek.options["ci_level"] == 0.9 and ek.options["language"] == "da"
    assert ek.options["ci_level"] == 0.95 and ek.options["language"] == "en"


def test_set_for_session_then_reset():
    ek.set_options(display_max_rows=5)
    try:
        assert ek.options["display_max_rows"] == 5
    finally:
        ek.set_options(display_max_rows=20)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"ci_level": 95},
            r"'ci_level' option must be a float in \[0.5, 1\), e.g. 0.95 \(not 95\). "
            r"Got 95 instead.",
        ),
        ({"language": "de"}, "'language' option must be 'en' or 'da'. Got 'de' instead."),
        ({"min_cell_count": 0}, "'min_cell_count' option must be a positive integer"),
        ({"progress": "yes"}, "'progress' option must be True or False"),
        ({"colour": "red"}, "unknown option 'colour'"),
    ],
)
def test_invalid_options(kw, message):
    with pytest.raises(ek.OptionError, match=message):
        ek.set_options(**kw)
    assert ek.options["ci_level"] == 0.95  # nothing changed


def test_unknown_option_lookup():
    with pytest.raises(ek.OptionError, match="There is no option 'lang'"):
        ek.options["lang"]


def test_hierarchy():
    for cls in (ek.DataError, ek.SchemaError, ek.IdentificationError):
        assert issubclass(cls, ek.EffektError) and issubclass(cls, ValueError)
    assert issubclass(ek.OptionalDependencyError, ImportError)
    for cls in (ek.DroppedRowsWarning, ek.AssumptionWarning, ek.SamplingWarning):
        assert issubclass(cls, ek.EffektWarning) and issubclass(cls, UserWarning)


def test_parameter_message_template():
    err = invalid_parameter("reps", "Bootstrap", "a positive integer", -1)
    assert str(err) == (
        "The 'reps' parameter of Bootstrap must be a positive integer. Got -1 instead."
    )
    with pytest.raises(ek.ParameterError, match=r"must be one of \{'a', 'b'\}. Got 'c' instead"):
        check_choice("x", "f", "c", ("a", "b"))
