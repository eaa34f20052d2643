"""API schemas, named by role: `PatientFindings` in, `RiskPrediction` out."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from app.web.i18n import STRINGS


class PatientFindings(BaseModel):
    """The three findings of one lesion.  All keys are required: a finding left out is never assumed absent.

    Ki-67 and CgA may be null, "not yet known" (before the pathology report): the answer then comes
    from the model refitted without them (a pattern submodel), and says so.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"surface_depression": True, "ki67_percent": 2.5, "cga_positive": True},
                {"surface_depression": False, "ki67_percent": None, "cga_positive": True},
            ]
        },
    )

    surface_depression: StrictBool = Field(description=STRINGS["en"]["api_field_surface_depression"])
    ki67_percent: float | None = Field(
        ge=0,
        le=100,
        description=STRINGS["en"]["api_field_ki67_percent"],
        allow_inf_nan=False,
    )
    cga_positive: StrictBool | None = Field(description=STRINGS["en"]["api_field_cga_positive"])

    @field_validator("ki67_percent", mode="before")
    @classmethod
    def _number_not_text(cls, value: object) -> object:
        # JSON "5" or true must not slip through as 5.0 or 1.0: a clinician typed something else.
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number (a percentage from 0 to 100)")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number from 0 to 100")
        return value


class ModelIdentity(BaseModel):
    id: str
    sha256: str
    source: str
    demonstration: bool


class RiskPrediction(BaseModel):
    """Predicted risk of non-curative resection (non-R0 or LVI/PNI) with its delta-method 95 % CI.

    When a finding lies outside the population the model was developed for (e.g. Ki-67 above
    20 %, grade G3), `applicable` is false, `reason` says why, and no risk is given: `probability`,
    `ci95`, `linear_predictor`, `points` and `total_points` are null.
    """

    applicable: bool = Field(description="False when the findings are outside the population the model applies to.")
    reason: str | None = Field(description="Why no risk is given (when applicable is false), else null.")
    probability: float | None = Field(
        description="Predicted risk of non-curative resection (non-R0 or LVI/PNI), 0 to 1 (exact; pages show "
        "> 99 % and < 1 %)."
    )
    ci95: tuple[float, float] | None = Field(description="95 % CI of the risk (delta method on the logit scale).")
    linear_predictor: float | None
    points: dict[str, float] | None = Field(description="Nomogram points of each finding.")
    total_points: float | None
    extrapolation: list[str] = Field(
        description="Findings outside the range the model was fitted on (beyond a 2 % tolerance of its width)."
    )
    missing: list[str] = Field(
        description="Findings given as null (not yet known): the risk comes from the model refitted without them."
    )
    predictors: list[str] = Field(description="The findings the answering model used.")
    model: ModelIdentity
    notice: str | None = Field(
        description="Set when the model is a demonstration or built from published coefficients."
    )


class ValidationProblem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: list[ValidationProblem] | str
