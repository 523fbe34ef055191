"""The campaign's typed documents: what earlier versions stored still loads, and a document is
validated where it enters."""

import json
import math
import pathlib

import pydantic
import pytest

from aiida_bigmap_al.documents import Dataset, DatasetRow, HistoryEntry, Suggestion

#: Documents of a short replay campaign run with the code of commit 8ed6133 (before these models).
STORED = json.loads((pathlib.Path(__file__).parent / "data" / "documents_8ed6133.json").read_text())


def test_documents_stored_by_an_earlier_version_still_load():
    suggestion = Suggestion.model_validate(STORED["suggestion"])
    assert suggestion.variables == {"r": 0.087, "c": 2.07} and suggestion.kelvin == 293.15
    # the same formulation, to the 14 digits that the storage kept of the stored one
    assert suggestion.formulation["ratio"] == pytest.approx(STORED["suggestion"]["formulation"]["ratio"],
                                                            rel=1e-12)
    dataset = Dataset.model_validate(STORED["dataset"])
    assert [row.value for row in dataset.rows] == [row["value"] for row in STORED["dataset"]["rows"]]
    entries = [HistoryEntry.model_validate(entry) for entry in STORED["history"]["iterations"]]
    assert entries[0].failed[0].exit_status == 300 and entries[0].lane is None
    assert DatasetRow.model_validate(STORED["best"]).value == max(r.value for r in dataset.rows)


def test_the_formulation_is_derived_from_the_variables():
    suggestion = Suggestion(variables={"r": 0.3, "c": 1.2}, temperature={"value": 300, "unit": "K"},
                            predicted_std=math.nan)
    dumped = suggestion.model_dump(mode="json")
    assert dumped["predicted_std"] is None  # exploitation has no std
    assert Suggestion.model_validate(dumped) == suggestion
    dumped["variables"]["c"] = 1.3  # a formulation that no longer matches its point
    with pytest.raises(pydantic.ValidationError, match="stored formulation"):
        Suggestion.model_validate(dumped)


def test_an_unknown_field_is_refused_by_name():
    row = {**STORED["dataset"]["rows"][0], "vaule": 1.0}
    with pytest.raises(pydantic.ValidationError, match="vaule"):
        DatasetRow.model_validate(row)
