"""Risk for one patient from a verified artifact: probability, 95 % CI, nomogram points.

Pure numpy: the serving path never imports statsmodels or scipy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserInputError
from app.model.artifact import ModelArtifact, Nomogram, NomogramAxis, load_artifact

Z_95 = 1.959963984540054

EXTRAPOLATION_TOLERANCE = 0.02
"""Values within this share of the fitted range's width beyond its ends are not called extrapolation.

A report's rounding puts a value just outside the observed range without taking it anywhere the data
do not describe: Ki-67 0 % when the lowest fitted value was 0.1 %, or 18.2 % when it was 18 %."""


def expit(eta: float) -> float:
    """Logistic function, stable for large |eta|."""
    if eta >= 0:
        return 1.0 / (1.0 + math.exp(-eta))
    e = math.exp(eta)
    return e / (1.0 + e)


class UnknownFindingError(UserInputError):
    """A finding is not yet known and the model has no submodel without it."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        self.missing = missing
        super().__init__(
            f"this model needs {' and '.join(missing)}: it has no version fitted without "
            f"{'that finding' if len(missing) == 1 else 'those findings'}. Enter the value, or serve a model "
            "trained with pattern submodels (python -m app train makes them)."
        )


@dataclass(frozen=True)
class OutsideApplicability:
    """A finding outside the range where the model applies (e.g. Ki-67 above 20 %: grade G3)."""

    name: str
    value: float
    low: float
    high: float


class NotApplicableError(UserInputError):
    """The findings lie outside the population the model was developed for: no risk may be given.

    Not an input error (the values are valid findings), so callers answer 200 with the reason.
    """

    def __init__(self, outside: tuple[OutsideApplicability, ...]) -> None:
        self.outside = outside
        super().__init__(
            "; ".join(
                f"{o.name} = {o.value:g} is outside {o.low:g} to {o.high:g}, where this model applies" for o in outside
            )
        )


@dataclass(frozen=True)
class Prediction:
    """One patient's predicted risk and where its points come from.

    `missing` names the findings not yet known: the risk then comes from the submodel fitted
    without them, and `predictors` lists the findings it used.
    """

    probability: float
    ci95: tuple[float, float]
    linear_predictor: float
    se_linear_predictor: float
    points: dict[str, float]
    total_points: float
    extrapolated: tuple[str, ...]
    missing: tuple[str, ...] = ()
    predictors: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Equation:
    """One fitted equation (the full model or a pattern submodel), prepared for fast prediction."""

    names: tuple[str, ...]
    coef: list[float]
    cov: list[list[float]]
    nomogram: Nomogram
    axes: dict[str, NomogramAxis]

    @classmethod
    def of(
        cls, names: tuple[str, ...], coefficients: dict[str, float], covariance: list[list[float]], nomogram: Nomogram
    ) -> _Equation:
        return cls(
            names=names,
            # Plain floats: for four terms, Python arithmetic beats numpy's per-call overhead several times over.
            coef=[float(coefficients[n]) for n in ("intercept", *names)],
            cov=[[float(v) for v in row] for row in covariance],
            nomogram=nomogram,
            axes={a.name: a for a in nomogram.axes},
        )


class Model:
    """An artifact loaded for prediction: immutable, arrays prepared once."""

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self.predictor_names: tuple[str, ...] = tuple(p.name for p in artifact.predictors)
        self._specs = {p.name: p for p in artifact.predictors}
        full = _Equation.of(self.predictor_names, artifact.coefficients, artifact.covariance, artifact.nomogram)
        self._equations: dict[frozenset[str], _Equation] = {frozenset(): full}
        for submodel in artifact.submodels:
            self._equations[frozenset(submodel.missing)] = _Equation.of(
                tuple(submodel.predictors), submodel.coefficients, submodel.covariance, submodel.nomogram
            )

    @classmethod
    def from_file(cls, path: str | Path) -> Model:
        return cls(load_artifact(path))

    @property
    def model_id(self) -> str:
        return self.artifact.model_id

    @property
    def sha256(self) -> str:
        return self.artifact.sha256

    @property
    def source(self) -> str:
        return self.artifact.provenance.source

    @property
    def is_demonstration(self) -> bool:
        return self.source == "synthetic-demo"

    def can_leave_out(self, missing: tuple[str, ...] | frozenset[str]) -> bool:
        """Whether the model can answer with these findings unknown."""
        return frozenset(missing) in self._equations

    def nomogram_for(self, missing: tuple[str, ...] = ()) -> Nomogram:
        """The nomogram of the equation that answers when `missing` are unknown."""
        return self._equation(missing).nomogram

    def _equation(self, missing: tuple[str, ...] | frozenset[str]) -> _Equation:
        equation = self._equations.get(frozenset(missing))
        if equation is None:
            raise UnknownFindingError(tuple(n for n in self.predictor_names if n in missing))
        return equation

    def points_for(self, name: str, value: float, missing: tuple[str, ...] = ()) -> float:
        """Nomogram points of one finding: s·(βx − min over the axis of βx)."""
        equation = self._equation(missing)
        axis = equation.axes[name]
        return equation.nomogram.points_per_logit * (axis.beta * value - axis.min_contribution)

    def predict(self, values: Mapping[str, float | None]) -> Prediction:
        """Predicted risk with a delta-method 95 % CI on the logit scale.

        se = √(x̃ᵀVx̃) with x̃ = (1, x); CI = expit(lp ± z·se), as R's
        `predict(lrm, se.fit = TRUE)`.  `values` must name every predictor;
        None means not yet known, and the pattern submodel without those
        findings answers (UnknownFindingError when the model has none).
        NotApplicableError when a finding is outside the range where the
        model applies: no risk is computed for it.
        """
        missing = tuple(n for n in self.predictor_names if values[n] is None)
        equation = self._equation(missing)
        known = {n: float(values[n]) for n in equation.names}  # type: ignore[arg-type]
        outside = self.outside_applicability(known)
        if outside:
            raise NotApplicableError(outside)
        x = [1.0, *(known[n] for n in equation.names)]
        lp = math.fsum(c * v for c, v in zip(equation.coef, x, strict=True))
        variance = math.fsum(x[i] * x[j] * row[j] for i, row in enumerate(equation.cov) for j in range(len(x)))
        se = math.sqrt(max(variance, 0.0))
        scale = equation.nomogram.points_per_logit
        points = {
            n: scale * (equation.axes[n].beta * known[n] - equation.axes[n].min_contribution) for n in equation.names
        }
        extrapolated = tuple(n for n in equation.names if self._beyond_the_data(n, known[n]))
        return Prediction(
            probability=expit(lp),
            ci95=(expit(lp - Z_95 * se), expit(lp + Z_95 * se)),
            linear_predictor=lp,
            se_linear_predictor=se,
            points=points,
            total_points=sum(points.values()),
            extrapolated=extrapolated,
            missing=missing,
            predictors=equation.names,
        )

    def outside_applicability(self, values: Mapping[str, float]) -> tuple[OutsideApplicability, ...]:
        """The findings outside the range where the model applies (empty when it applies)."""
        outside = []
        for name, value in values.items():
            spec = self._specs[name]
            if spec.applicable_range is not None and not spec.applicable_range[0] <= value <= spec.applicable_range[1]:
                outside.append(OutsideApplicability(name, value, *spec.applicable_range))
        return tuple(outside)

    def extrapolation_range(self, name: str) -> tuple[float, float]:
        """The range the data describe: the fitted range, or for a model without one (built from
        published coefficients) its nomogram axis, the range its authors drew."""
        spec = self._specs[name]
        return spec.fitted_range if spec.fitted_range is not None else spec.nomogram_range

    def _beyond_the_data(self, name: str, value: float) -> bool:
        if self._specs[name].kind == "binary":
            return False
        low, high = self.extrapolation_range(name)
        tolerance = EXTRAPOLATION_TOLERANCE * (high - low)
        return not low - tolerance <= value <= high + tolerance

    def probability_from_points(self, total_points: float, missing: tuple[str, ...] = ()) -> float:
        """The nomogram's bottom axis: risk for a total of points."""
        nomogram = self._equation(missing).nomogram
        return expit(nomogram.lp_at_zero_points + total_points / nomogram.points_per_logit)
