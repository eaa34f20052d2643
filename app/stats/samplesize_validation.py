"""Minimum sample size for externally validating a binary-outcome model (Riley et al., Stat Med 2021).

The criteria of Riley, Debray, Collins, Archer, Ensor, van Smeden & Snell
(Stat Med 2021;40:4230–4251), as the R package `pmvalsampsize` (0.1.0,
`pmvalsampsize_bin`) computes them, for an anticipated outcome proportion φ,
C-statistic C, and distribution of the linear predictor (LP) in the
validation population; each CI is estimate ± 1.96·SE, as there:

1. precise observed/expected (O/E, anticipated 1): SE(ln O/E) such that the
   CI exp(ln O/E ± 1.96·SE) is as wide as asked; n₁ = (1 − φ) / (φ·SE²);
2. precise calibration slope (anticipated 1, the model calibrated): with
   p = expit(LP) and Iₐᵦ = E[p(1 − p)·LPᵃ⁺ᵇ] over the LP distribution (the
   per-patient Fisher information of the calibration model a + b·LP at
   a = 0, b = 1), n₂ = I₀₀ / (SE²·(I₀₀I₁₁ − I₀₁²)), SE = width / (2·1.96);
3. precise C-statistic: the smallest n with 2·1.96·SE(C) ≤ width, where
   (Newcombe 2006) SE(C)² = C(1 − C)·[1 + (n/2 − 1)(1 − C)/(2 − C)
   + (n/2 − 1)C/(1 + C)] / (n²φ(1 − φ));
4. optionally, precise standardized net benefit at a risk threshold t:
   sNB = Se − (1 − Sp)(1 − φ)/φ · t/(1 − t), w = (1 − φ)/φ · t/(1 − t),
   n₄ = [Se(1 − Se)/φ + w²Sp(1 − Sp)/(1 − φ) + w²(1 − Sp)²/(φ(1 − φ))] / SE²,
   with sensitivity Se and specificity Sp given, or implied by the LP
   distribution of a calibrated model: Se = E[p·1(p ≥ t)] / E[p],
   Sp = E[(1 − p)·1(p < t)] / E[1 − p].

The minimum is the largest; the criterion that sets it is named.

Where pmvalsampsize rounds, we round the same way, so that the sizes agree
with it and with the paper's worked example: it finds the SE of criteria 1
and 4 by stepping up in 0.0001 until the CI is at least as wide as asked
(so the SE is rounded up to the next 0.0001; we solve exactly and round up
the same way), rounds the net-benefit SE to 3 decimals, and rounds implied
sensitivity and specificity to 2 decimals.  Where it simulates (the LP's
distribution, 1,000,000 draws), we integrate: over the distinct values of an
empirical distribution (weighted by their counts), or by adaptive quadrature
for a normal one, so results carry no Monte Carlo error and are the same on
every run.  pmvalsampsize's C-statistic search stops at 1,000,000; ours does
not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.errors import UserInputError
from app.model.artifact import ModelArtifact

Z = 1.96
"""pmvalsampsize's (and the paper's) normal quantile for 95 % intervals."""

SE_STEP = 0.0001
"""pmvalsampsize's step when it searches for the SE that gives the target CI width (criteria 1 and 4)."""


@dataclass(frozen=True)
class LinearPredictorDistribution:
    """The anticipated LP distribution: distinct values with weights (empirical) or a normal.

    Either `values` and `weights` (weights sum to 1) or `normal` = (mean, sd).  `description`
    says where it comes from, for the output.
    """

    description: str
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    normal: tuple[float, float] | None = None

    def expectation(self, function: Callable[[np.ndarray], np.ndarray], *, split: float | None = None) -> float:
        """E[function(LP)]; `split` is a point where `function` jumps (quadrature breaks there)."""
        if self.normal is None:
            return float(np.dot(np.asarray(self.weights), function(np.asarray(self.values))))
        from scipy import integrate, stats

        mean, sd = self.normal
        lo, hi = mean - 12.0 * sd, mean + 12.0 * sd  # the normal's mass beyond is < 1e-32

        def integrand(x: float) -> float:
            return float(function(np.array([x]))[0] * stats.norm.pdf(x, mean, sd))

        edges = [lo] + ([split] if split is not None and lo < split < hi else []) + [hi]
        return sum(
            integrate.quad(integrand, a, b, limit=400, epsabs=0.0, epsrel=1e-11)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )

    @property
    def mean(self) -> float:
        return self.normal[0] if self.normal else self.expectation(lambda x: x)

    @property
    def sd(self) -> float:
        if self.normal:
            return self.normal[1]
        mean = self.mean
        return math.sqrt(self.expectation(lambda x: (x - mean) ** 2))


def empirical_lp_distribution(
    *, risks: list[float], counts: list[int], description: str
) -> LinearPredictorDistribution:
    """The LP distribution of a cohort from its distinct predicted risks and how many patients had each.

    Risks of exactly 0 or 1 (possible after rounding) are kept at LP ±40, where p(1 − p) is 0 to
    double precision.
    """
    total = sum(counts)
    if total <= 0 or len(risks) != len(counts) or any(c < 0 for c in counts):
        raise UserInputError("the LP distribution needs at least one patient.")
    lp = [math.log(p / (1.0 - p)) if 0.0 < p < 1.0 else (40.0 if p >= 1.0 else -40.0) for p in risks]
    return LinearPredictorDistribution(
        description=description, values=tuple(lp), weights=tuple(c / total for c in counts)
    )


def normal_lp_distribution(*, mean: float, sd: float, description: str) -> LinearPredictorDistribution:
    if not (math.isfinite(mean) and math.isfinite(sd)) or sd <= 0:
        raise UserInputError(
            f"the LP's standard deviation must be positive and both numbers finite (got {mean:g}, {sd:g})."
        )
    return LinearPredictorDistribution(description=description, normal=(mean, sd))


@dataclass(frozen=True)
class ValidationCriterion:
    """One criterion: its sample size, the anticipated value, the SE used and the CI width targeted."""

    key: str
    label: str
    sample_size: int
    anticipated: float
    se: float
    ci_width: float


@dataclass(frozen=True)
class ValidationSampleSize:
    prevalence: float
    c_statistic: float
    lp: LinearPredictorDistribution
    criteria: tuple[ValidationCriterion, ...]
    details: dict[str, float] = field(default_factory=dict)
    accuracy_implied: bool = False
    """Net benefit's sensitivity and specificity were implied by the LP distribution (not given)."""

    @property
    def minimum(self) -> int:
        return max(c.sample_size for c in self.criteria)

    @property
    def binding(self) -> tuple[str, ...]:
        """The criteria that set the minimum (more than one on a tie)."""
        return tuple(c.key for c in self.criteria if c.sample_size == self.minimum)

    @property
    def events(self) -> float:
        return self.minimum * self.prevalence


def _se_on_grid(width_of: Callable[[float], float], target: float, exact: float) -> float:
    """The smallest multiple of SE_STEP whose CI is at least `target` wide, as pmvalsampsize's loop finds it."""
    k = max(1, math.ceil(exact / SE_STEP - 1e-9))
    while width_of(k * SE_STEP) < target:
        k += 1
    while k > 1 and width_of((k - 1) * SE_STEP) >= target:
        k -= 1
    return k * SE_STEP


def _observed_expected(*, prevalence: float, oe: float, width: float) -> ValidationCriterion:
    def width_of(se: float) -> float:
        return math.exp(math.log(oe) + Z * se) - math.exp(math.log(oe) - Z * se)

    # width = 2·O/E·sinh(1.96·SE), solved exactly, then rounded up to the grid.
    se = _se_on_grid(width_of, width, math.asinh(width / (2.0 * oe)) / Z)
    n = math.ceil((1.0 - prevalence) / (prevalence * se * se))
    return ValidationCriterion("observed_expected", "O/E", n, oe, se, width)


def _calibration_slope(
    *, lp: LinearPredictorDistribution, width: float
) -> tuple[ValidationCriterion, dict[str, float]]:
    def weight(x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-x))
        return p * (1.0 - p)

    i00 = lp.expectation(weight)
    i01 = lp.expectation(lambda x: weight(x) * x)
    i11 = lp.expectation(lambda x: weight(x) * x * x)
    determinant = i00 * i11 - i01 * i01
    if not determinant > 1e-12 * max(i00 * i11, 1e-300):
        raise UserInputError(
            "the linear predictor takes (almost) a single value, so the calibration slope cannot be estimated; "
            "give an LP distribution with spread (--lp-normal MEAN SD)."
        )
    se = width / (2.0 * Z)
    n = math.ceil(i00 / (se * se * determinant))
    return ValidationCriterion("calibration_slope", "calibration slope", n, 1.0, se, width), {
        "information_00": i00,
        "information_01": i01,
        "information_11": i11,
    }


def c_statistic_se(*, c_statistic: float, prevalence: float, n: int) -> float:
    """SE(C) at sample size n (Newcombe 2006, as Riley et al. 2021 eq. 8 and pmvalsampsize)."""
    c = c_statistic
    half = n / 2.0 - 1.0
    variance = (
        c * (1 - c) * (1 + half * (1 - c) / (2 - c) + half * c / (1 + c)) / (n * n * prevalence * (1 - prevalence))
    )
    return math.sqrt(variance)


def _c_statistic(*, c_statistic: float, prevalence: float, width: float) -> ValidationCriterion:
    # SE² = a·[(1 − K)/n² + K/(2n)], a = C(1 − C)/(φ(1 − φ)), K = (1 − C)/(2 − C) + C/(1 + C) ∈ [½, ⅔]:
    # decreasing in n, so the smallest n with SE² ≤ (width/3.92)² solves a quadratic; checked on integers.
    c = c_statistic
    a = c * (1 - c) / (prevalence * (1 - prevalence))
    k = (1 - c) / (2 - c) + c / (1 + c)
    t = (width / (2 * Z)) ** 2
    root = (a * k / 2 + math.sqrt((a * k / 2) ** 2 + 4 * t * a * (1 - k))) / (2 * t)
    n = max(1, math.ceil(root) - 2)
    while 2 * Z * c_statistic_se(c_statistic=c, prevalence=prevalence, n=n) > width:
        n += 1
    se = c_statistic_se(c_statistic=c, prevalence=prevalence, n=n)
    return ValidationCriterion("c_statistic", "C-statistic", n, c, se, width)


def _net_benefit(
    *,
    prevalence: float,
    threshold: float,
    sensitivity: float,
    specificity: float,
    width: float,
) -> tuple[ValidationCriterion, dict[str, float]]:
    odds = threshold / (1.0 - threshold)
    nb = sensitivity * prevalence - (1 - specificity) * (1 - prevalence) * odds
    standardized = nb / prevalence
    w = (1 - prevalence) / prevalence * odds
    se = round(_se_on_grid(lambda s: 2 * Z * s, width, width / (2 * Z)), 3)
    if se <= 0:
        raise UserInputError(
            f"--nb-ci-width {width:g} is too narrow: the net-benefit SE, rounded to 3 decimals as pmvalsampsize "
            "rounds it, would be 0; give 0.004 or more."
        )
    variance_unit = (
        sensitivity * (1 - sensitivity) / prevalence
        + w * w * specificity * (1 - specificity) / (1 - prevalence)
        + w * w * (1 - specificity) ** 2 / (prevalence * (1 - prevalence))
    )
    n = math.ceil(variance_unit / (se * se))
    return ValidationCriterion(
        "net_benefit", f"standardized net benefit at {threshold:g}", n, standardized, se, width
    ), {
        "threshold": threshold,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "net_benefit": nb,
    }


def _implied_accuracy(lp: LinearPredictorDistribution, threshold: float) -> tuple[float, float]:
    """Se and Sp at the threshold of a calibrated model with this LP distribution, to 2 decimals as pmvalsampsize."""
    cut = math.log(threshold / (1.0 - threshold))

    def expit(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x))

    events = lp.expectation(expit)
    true_positive = lp.expectation(lambda x: expit(x) * (x >= cut), split=cut)
    true_negative = lp.expectation(lambda x: (1.0 - expit(x)) * (x < cut), split=cut)
    return round(true_positive / events, 2), round(true_negative / (1.0 - events), 2)


def validation_sample_size(
    *,
    prevalence: float,
    c_statistic: float,
    lp: LinearPredictorDistribution,
    oe_ci_width: float = 0.2,
    slope_ci_width: float = 0.2,
    c_ci_width: float = 0.1,
    threshold: float | None = None,
    sensitivity: float | None = None,
    specificity: float | None = None,
    nb_ci_width: float = 0.2,
    oe: float = 1.0,
) -> ValidationSampleSize:
    """Riley et al.'s (2021) external-validation criteria (see the module docstring for the formulas).

    Net benefit is included when a `threshold` is given; its sensitivity and specificity are
    those given, else implied by `lp` for a calibrated model.

    Raises
    ------
    UserInputError
        Prevalence or threshold outside (0, 1), C outside (0.5, 1), a CI width not positive,
        sensitivity or specificity outside [0, 1] or only one of them given.
    """
    _check(prevalence, c_statistic, oe_ci_width, slope_ci_width, c_ci_width, nb_ci_width, oe)
    criteria = [
        _observed_expected(prevalence=prevalence, oe=oe, width=oe_ci_width),
    ]
    slope, details = _calibration_slope(lp=lp, width=slope_ci_width)
    criteria += [slope, _c_statistic(c_statistic=c_statistic, prevalence=prevalence, width=c_ci_width)]
    if (sensitivity is None) != (specificity is None):
        raise UserInputError("give both --sensitivity and --specificity, or neither (then they follow from the LP).")
    if threshold is not None:
        if not 0.0 < threshold < 1.0:
            raise UserInputError(f"the risk threshold must lie strictly between 0 and 1 (got {threshold:g}).")
        implied = sensitivity is None or specificity is None
        if sensitivity is None or specificity is None:
            sensitivity, specificity = _implied_accuracy(lp, threshold)
        for name, value in (("sensitivity", sensitivity), ("specificity", specificity)):
            if not 0.0 <= value <= 1.0:
                raise UserInputError(f"the {name} must lie between 0 and 1 (got {value:g}).")
        nb, nb_details = _net_benefit(
            prevalence=prevalence,
            threshold=threshold,
            sensitivity=sensitivity,
            specificity=specificity,
            width=nb_ci_width,
        )
        criteria.append(nb)
        details.update(nb_details)
    elif sensitivity is not None:
        raise UserInputError("sensitivity and specificity are used for net benefit only: give --threshold too.")
    else:
        implied = False
    return ValidationSampleSize(
        prevalence=prevalence,
        c_statistic=c_statistic,
        lp=lp,
        criteria=tuple(criteria),
        details=details,
        accuracy_implied=implied,
    )


def _check(prevalence: float, c: float, *widths_and_oe: float) -> None:
    if not 0.0 < prevalence < 1.0:
        raise UserInputError(f"the prevalence must lie strictly between 0 and 1 (got {prevalence:g}).")
    if not 0.5 < c < 1.0:
        raise UserInputError(f"the C-statistic must lie strictly between 0.5 and 1 (got {c:g}).")
    names = ("O/E CI width", "calibration-slope CI width", "C-statistic CI width", "net-benefit CI width", "O/E")
    for name, value in zip(names, widths_and_oe, strict=True):
        if not (math.isfinite(value) and value > 0):
            raise UserInputError(f"the {name} must be a positive number (got {value:g}).")


@dataclass(frozen=True)
class ArtifactInputs:
    """What an artifact says about the validation study: prevalence, C and the LP distribution."""

    prevalence: float | None
    c_statistic: float | None
    c_statistic_source: str
    lp: LinearPredictorDistribution | None


def inputs_from_artifact(artifact: ModelArtifact) -> ArtifactInputs:
    """The development cohort's prevalence, C-statistic and LP distribution, as far as the artifact has them.

    The LP distribution comes from the stored ROC curve: at each of its thresholds (a distinct
    predicted risk, positive when p ≥ threshold) the steps in TPR·events and FPR·non-events count
    the patients with that risk, so the cohort's distribution of risks, hence of LP = logit p,
    is recovered exactly.  A cohort with more than MAX_CURVE_POINTS − 1 distinct risks has its
    curve thinned: each step then counts a group of patients, placed at the group's lowest risk
    (stated in the description).  C is the optimism-corrected AUC when the artifact has it, else
    the apparent AUC.
    """
    performance = artifact.performance
    extra = performance.model_extra or {}
    prevalence = extra.get("prevalence")
    if prevalence is None and performance.n and performance.events is not None:
        prevalence = performance.events / performance.n
    if performance.auc_optimism_corrected is not None:
        c, c_source = performance.auc_optimism_corrected, "the artifact's optimism-corrected AUC"
    elif performance.auc is not None:
        c, c_source = performance.auc, "the artifact's apparent AUC"
    else:
        c, c_source = None, ""
    return ArtifactInputs(
        prevalence=float(prevalence) if prevalence is not None else None,
        c_statistic=c,
        c_statistic_source=c_source,
        lp=_lp_from_roc(artifact),
    )


def _lp_from_roc(artifact: ModelArtifact) -> LinearPredictorDistribution | None:
    from app.stats.performance import MAX_CURVE_POINTS

    roc = artifact.curves.get("roc") if artifact.curves else None
    n, events = artifact.performance.n, artifact.performance.events
    if not roc or not n or events is None or not 0 < events < n:
        return None
    thresholds, tpr, fpr = roc["threshold"], roc["tpr"], roc["fpr"]
    risks, counts = [], []
    for i in range(1, len(thresholds)):
        count = round((tpr[i] - tpr[i - 1]) * events) + round((fpr[i] - fpr[i - 1]) * (n - events))
        if count and thresholds[i] is not None:
            risks.append(float(thresholds[i]))
            counts.append(count)
    if sum(counts) != n:
        return None
    thinned = len(thresholds) >= MAX_CURVE_POINTS
    description = f"the development cohort's, {n} patients, from the artifact's ROC curve" + (
        "; thinned to groups, each placed at its lowest risk: approximate" if thinned else ""
    )
    return empirical_lp_distribution(risks=risks, counts=counts, description=description)
