"""Risk for one patient from a verified artifact: probability, 95 % CI, nomogram points.

Pure numpy: the serving path never imports statsmodels or scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from app.model.artifact import ModelArtifact, load_artifact

Z_95 = 1.959963984540054


def expit(eta: float) -> float:
    """Logistic function, stable for large |eta|."""
    if eta >= 0:
        return 1.0 / (1.0 + math.exp(-eta))
    e = math.exp(eta)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Prediction:
    """One patient's predicted risk and where its points come from."""

    probability: float
    ci95: tuple[float, float]
    linear_predictor: float
    se_linear_predictor: float
    points: dict[str, float]
    total_points: float
    extrapolated: tuple[str, ...]


class Model:
    """An artifact loaded for prediction: immutable, arrays prepared once."""

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self.predictor_names: tuple[str, ...] = tuple(p.name for p in artifact.predictors)
        # Plain floats: for four terms, Python arithmetic beats numpy's per-call overhead several times over.
        self._coef = [float(artifact.coefficients[n]) for n in ("intercept", *self.predictor_names)]
        self._cov = [[float(v) for v in row] for row in artifact.covariance]
        self._axes = {a.name: a for a in artifact.nomogram.axes}
        self._scale = artifact.nomogram.points_per_logit
        self._specs = {p.name: p for p in artifact.predictors}

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

    def points_for(self, name: str, value: float) -> float:
        """Nomogram points of one finding: s·(βx − min over the axis of βx)."""
        axis = self._axes[name]
        return self._scale * (axis.beta * value - axis.min_contribution)

    def predict(self, values: dict[str, float]) -> Prediction:
        """Predicted risk with a delta-method 95 % CI on the logit scale.

        se = √(x̃ᵀVx̃) with x̃ = (1, x); CI = expit(lp ± z·se), as R's
        `predict(lrm, se.fit = TRUE)`.  `values` must hold every predictor.
        """
        x = [1.0, *(float(values[n]) for n in self.predictor_names)]
        lp = math.fsum(c * v for c, v in zip(self._coef, x, strict=True))
        variance = math.fsum(x[i] * x[j] * row[j] for i, row in enumerate(self._cov) for j in range(len(x)))
        se = math.sqrt(max(variance, 0.0))
        points = {n: self.points_for(n, float(values[n])) for n in self.predictor_names}
        extrapolated = tuple(
            n
            for n in self.predictor_names
            if (fr := self._specs[n].fitted_range) is not None and not fr[0] <= float(values[n]) <= fr[1]
        )
        return Prediction(
            probability=expit(lp),
            ci95=(expit(lp - Z_95 * se), expit(lp + Z_95 * se)),
            linear_predictor=lp,
            se_linear_predictor=se,
            points=points,
            total_points=sum(points.values()),
            extrapolated=extrapolated,
        )

    def probability_from_points(self, total_points: float) -> float:
        """The nomogram's bottom axis: risk for a total of points."""
        return expit(self.artifact.nomogram.lp_at_zero_points + total_points / self._scale)
