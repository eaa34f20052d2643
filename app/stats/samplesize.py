"""Minimum sample size for developing a binary-outcome prediction model (Riley et al., BMJ 2020).

The three criteria of Riley et al. (Stat Med 2019; BMJ 2020), as the R
package `pmsampsize` (1.1.3, `pmsampsize_bin`) computes them, for P
candidate predictor parameters, outcome prevalence φ and an anticipated
Cox–Snell R² (R²_CS):

1. expected uniform shrinkage at least S (0.9):
   n₁ = P / ((S − 1) · ln(1 − R²_CS / S));
2. small optimism in the apparent Nagelkerke R² (difference δ = 0.05):
   with max R²_CS = 1 − (φ^φ (1 − φ)^(1 − φ))², S₂ = R²_CS / (R²_CS + δ · max R²_CS)
   and n₂ = P / ((S₂ − 1) · ln(1 − R²_CS / S₂));
3. the overall risk estimated within a margin of error m (0.05):
   n₃ = (1.96 / m)² · φ(1 − φ).

Each n is rounded up; the minimum sample size is the largest.  `train`
uses these to say whether its cohort met them; `samplesize` reports them.

When only a C-statistic is known, R²_CS is approximated from it and the
prevalence (`cox_snell_r2_from_c_statistic`, Riley et al., Stat Med 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from app.errors import UserInputError


@dataclass(frozen=True)
class DevelopmentSampleSize:
    """Riley's criteria 1–3 and the minimum n, with the quantities they used."""

    parameters: int
    prevalence: float
    r2_cs: float
    max_r2_cs: float
    shrinkage_target: float
    criterion_1: int
    criterion_2: int
    criterion_3: int
    shrinkage_criterion_2: float

    @property
    def minimum(self) -> int:
        return max(self.criterion_1, self.criterion_2, self.criterion_3)

    @property
    def nagelkerke_r2(self) -> float:
        return self.r2_cs / self.max_r2_cs

    def events(self, n: int) -> float:
        return n * self.prevalence

    def events_per_parameter(self, n: int) -> float:
        return n * self.prevalence / self.parameters


def max_cox_snell_r2(prevalence: float) -> float:
    """The largest Cox–Snell R² a model can reach at this prevalence: 1 − exp(2 ln L_null / n)."""
    log_likelihood_per_patient = prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)
    return 1.0 - math.exp(2.0 * log_likelihood_per_patient)


def cox_snell_r2(*, likelihood_ratio: float, n: int) -> float:
    """R²_CS = 1 − exp(−LR / n), LR = 2(ln L_model − ln L_null)."""
    return 1.0 - math.exp(-likelihood_ratio / n)


def _n_for_shrinkage(parameters: int, r2_cs: float, shrinkage: float) -> int:
    return math.ceil(parameters / ((shrinkage - 1.0) * math.log(1.0 - r2_cs / shrinkage)))


def development_sample_size(
    *,
    parameters: int,
    prevalence: float,
    r2_cs: float,
    shrinkage: float = 0.9,
    delta: float = 0.05,
    margin: float = 0.05,
) -> DevelopmentSampleSize:
    """Riley et al.'s criteria 1–3 (see the module docstring for the formulas).

    Raises
    ------
    UserInputError
        Parameters not positive, prevalence outside (0, 1), R²_CS outside
        (0, max R²_CS) for that prevalence, shrinkage outside (R²_CS, 1), or
        δ or the margin not positive.
    """
    if parameters < 1:
        raise UserInputError(f"the number of predictor parameters must be 1 or more (got {parameters}).")
    if not 0.0 < prevalence < 1.0:
        raise UserInputError(f"the prevalence must lie strictly between 0 and 1 (got {prevalence:g}).")
    largest = max_cox_snell_r2(prevalence)
    if not 0.0 < r2_cs < largest:
        raise UserInputError(
            f"the Cox–Snell R² must lie between 0 and {largest:.3f}, the largest possible at a prevalence of "
            f"{prevalence:g} (got {r2_cs:g})."
        )
    if not r2_cs < shrinkage < 1.0:
        raise UserInputError(f"the target shrinkage must lie between R² ({r2_cs:g}) and 1 (got {shrinkage:g}).")
    if delta <= 0 or margin <= 0:
        raise UserInputError("the acceptable optimism in R² (delta) and the margin of error must be positive.")
    shrinkage_2 = r2_cs / (r2_cs + delta * largest)
    return DevelopmentSampleSize(
        parameters=parameters,
        prevalence=prevalence,
        r2_cs=r2_cs,
        max_r2_cs=largest,
        shrinkage_target=shrinkage,
        criterion_1=_n_for_shrinkage(parameters, r2_cs, shrinkage),
        criterion_2=_n_for_shrinkage(parameters, r2_cs, shrinkage_2),
        criterion_3=math.ceil((1.96 / margin) ** 2 * prevalence * (1.0 - prevalence)),
        shrinkage_criterion_2=shrinkage_2,
    )


QUADRATURE_NODES = 120
"""Gauss–Hermite nodes for the C → R²_CS integrals; 80 already agree with 200 to 1e-15 (tested)."""

C_TO_R2_DECIMALS = 4
"""pmsampsize rounds the approximated R²_CS to 4 decimals before using it; so do we."""

C_TO_R2_METHOD = (
    "Cox–Snell R² approximated from the C-statistic and the prevalence (Riley et al., Stat Med 2021): the linear "
    "predictor normal with variance 1 in events and non-events, means √2·Φ⁻¹(C) apart, and a logistic model of "
    "the outcome on it; R²_CS is the large-sample limit of pmsampsize's simulation of 1,000,000 patients, "
    "computed by Gauss–Hermite quadrature (no random numbers), rounded to 4 decimals as pmsampsize does. "
    "pmsampsize's seeded simulation differs from the limit by its Monte Carlo error (about ±0.001 in R²_CS)."
)


def cox_snell_r2_from_c_statistic(*, c_statistic: float, prevalence: float) -> float:
    """Approximate R²_CS of a logistic model from its C-statistic C and the outcome prevalence φ.

    Riley, Van Calster & Collins (Stat Med 2021;40:859–864), as pmsampsize's `cstat2rsq`: the
    linear predictor is N(μ, 1) in events and N(0, 1) in non-events with μ = √2·Φ⁻¹(C), which
    gives AUC C.  With equal variances the logistic model of y on that predictor is exact:
    logit P(y = 1 | x) = a + μx, a = logit φ − μ²/2.  pmsampsize simulates 10⁶ patients and fits
    it; the fit's LR/n tends to 2·I, I the expected log-likelihood gain per patient:

        I = φ·E_{x~N(μ,1)}[ln expit(a + μx)] + (1 − φ)·E_{x~N(0,1)}[ln(1 − expit(a + μx))]
            − (φ ln φ + (1 − φ) ln(1 − φ)),
        R²_CS = 1 − exp(−2I).

    The two expectations are computed by Gauss–Hermite quadrature (QUADRATURE_NODES nodes), so
    the result is the simulation's limit without Monte Carlo error, the same on every run and
    CPU; it is rounded to C_TO_R2_DECIMALS decimals as pmsampsize rounds its estimate.

    Raises
    ------
    UserInputError
        C not strictly between 0.5 and 1, or the prevalence not strictly between 0 and 1.
    """
    if not 0.5 < c_statistic < 1.0:
        raise UserInputError(
            f"the C-statistic must lie strictly between 0.5 (no discrimination) and 1 (got {c_statistic:g})."
        )
    if not 0.0 < prevalence < 1.0:
        raise UserInputError(f"the prevalence must lie strictly between 0 and 1 (got {prevalence:g}).")
    mu = math.sqrt(2.0) * NormalDist().inv_cdf(c_statistic)
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    weights = weights / math.sqrt(2.0 * math.pi)  # expectations under N(0, 1)
    intercept = math.log(prevalence / (1.0 - prevalence)) - mu * mu / 2.0
    events = float(np.dot(weights, -np.logaddexp(0.0, -(intercept + mu * (mu + nodes)))))
    non_events = float(np.dot(weights, -np.logaddexp(0.0, intercept + mu * nodes)))
    null = prevalence * math.log(prevalence) + (1.0 - prevalence) * math.log(1.0 - prevalence)
    gain = prevalence * events + (1.0 - prevalence) * non_events - null
    return round(1.0 - math.exp(-2.0 * gain), C_TO_R2_DECIMALS)
