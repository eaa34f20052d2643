"""Request bodies are read strictly: duplicated keys and absurd nesting are refused with 422."""

from __future__ import annotations

import pytest

from tests.web.conftest import make_client

HEADERS = {"content-type": "application/json"}


def test_a_finding_given_twice_is_refused_not_silently_overwritten():
    """Python keeps the last duplicate: 5 % would be answered as 50 % without this check."""
    body = b'{"surface_depression": true, "ki67_percent": 5, "ki67_percent": 50, "cga_positive": true}'
    answer = make_client().post("/api/v1/predict", content=body, headers=HEADERS)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "field": "ki67_percent",
                "message": "Ki-67 index (percent, 0 to 100) is given more than once; send each finding once (the "
                "answer would depend on which one counted).",
            }
        ]
    }


def test_duplicates_in_the_named_model_route_too():
    body = b'{"surface_depression": true, "surface_depression": false, "ki67_percent": 5, "cga_positive": true}'
    answer = make_client().post("/api/v1/models/rnet-demo-v1/predict", content=body, headers=HEADERS)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "surface_depression"


@pytest.mark.parametrize("depth", [21, 3000])  # deeper bodies exceed the body limit first (413)
def test_deep_nesting_is_refused_with_422(depth):
    answer = make_client().post("/api/v1/predict", content=("[" * depth + "]" * depth).encode(), headers=HEADERS)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {"field": "body", "message": "The request body is not acceptable: the JSON is nested more than 20 levels deep."}
    ]


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = b'{"surface_depression": true, "ki67_percent": 5, "cga_positive": true, "note": "' + b"[" * 50 + b'"}'
    answer = make_client().post("/api/v1/predict", content=body, headers=HEADERS)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "note"  # extra field, not depth


def test_a_number_that_overflows_is_refused():
    body = b'{"surface_depression": true, "ki67_percent": 1e999, "cga_positive": true}'
    answer = make_client().post("/api/v1/predict", content=body, headers=HEADERS)
    assert answer.status_code == 422
    assert answer.json()["detail"][0] == {
        "field": "ki67_percent",
        "message": "Ki-67 index (percent, 0 to 100): must be a finite number from 0 to 100.",
    }
