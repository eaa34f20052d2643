"""Diagnostics of the fitted logistic model for the model card: is Ki-67 linear, which patients drive it.

Two checks `train` reports next to the coefficients:

- `ki67_linearity`: a likelihood-ratio test of the linear Ki-67 term against a
  restricted cubic spline with 3 knots (Harrell's `rcs`), other predictors as
  they are;
- `influential_patients`: Cook's distance and standardised dfbetas for every
  patient, and the patients above the usual cut-offs, by spreadsheet row.

Both are checked against R (`rms::lrm`, `rms::rcs`, `anova.rms`,
`cooks.distance` and `dfbetas` of `glm(binomial)`) in
tests/stats/test_diagnostics.py, with the reference values made by
tests/reference/make_diagnostics_reference.R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.stats.fit import fit_logistic

FRACTIED = 0.05
"""`rms::rcs` default (option `fractied`): an end value shared by at least this fraction of patients
(while no interior value is) gets its own knot at the next distinct value."""

SMALL_SAMPLE = 100
"""Below this many patients `rcspline.eval` puts the outer knots at the 5th smallest and 5th largest
value instead of at quantiles (Harrell 2015, §2.4.6)."""

COOKS_DISTANCE_NUMERATOR = 4.0
"""A patient is influential when Cook's distance exceeds 4/n (Bollen & Jackman 1985)."""

DFBETAS_NUMERATOR = 2.0
"""... or when any standardised dfbetas exceeds 2/√n in absolute value (Belsley, Kuh & Welsch 1980)."""

MAX_INFLUENTIAL_LISTED = 10
"""How many flagged patients `influential_patients` returns by default, most influential first."""

RANKING_SIGNIFICANT_DIGITS = 12
"""Cook's distances are ranked after rounding to this many significant digits, then by row number, so
that a difference in the last bits (another CPU's kernels) cannot swap two patients."""

MLE_TOLERANCE = 1e-6
"""Largest Newton step, relative to 1 + max |βⱼ|, for `coef` to count as the maximum-likelihood estimate."""


# ---------------------------------------------------------------- restricted cubic splines


def restricted_cubic_spline_knots(x: np.ndarray, *, knots: int = 3) -> tuple[np.ndarray, list[str]]:
    """Knot locations of `rms::rcs(x, knots)`: `Hmisc::rcspline.eval(x, nk=knots, knots.only=TRUE)`.

    For 3 knots: the 10th, 50th and 90th percentiles (R's `quantile` type 7),
    with rcspline.eval's exceptions copied rule for rule:

    - at most `knots` + 2 distinct values: the interior distinct values;
    - an end value shared by ≥ 5 % of patients while no interior value is
      (`fractied = 0.05`): that end's knot is the next distinct value, and the
      remaining knots are placed on the patients beyond it;
    - quantiles that coincide: the alternate rule of rcspline.eval (quantiles
      at 2·knots equally spaced levels), which may give more knots than asked;
    - fewer than 100 patients: the outer knots move to the 5th smallest and
      5th largest value (Harrell 2015, §2.4.6).

    Returns
    -------
    knots, notes
        The sorted distinct knots and the messages R would give as warnings.

    Raises
    ------
    StatisticalError
        Fewer than 6 values, or fewer than 3 distinct knots (R stops too).
    """
    values = np.sort(np.asarray(x, dtype=float))
    values = values[~np.isnan(values)]
    n = values.size
    if knots < 3:
        raise ValueError("a restricted cubic spline needs at least 3 knots")
    if n < 6:
        raise StatisticalError(f"a spline for Ki-67 needs at least 6 patients with a value; there are {n}.")
    distinct, counts = np.unique(values, return_counts=True)
    notes: list[str] = []
    if distinct.size - 2 <= knots:
        notes.append(
            f"{knots} knots requested with {distinct.size} distinct values: knots set to the "
            f"{distinct.size - 2} interior values."
        )
        return _distinct_knots(distinct[1:-1]), notes
    outer = 0.025 if knots > 6 else 0.05 if knots > 3 else 0.1
    remaining = values
    inner = knots
    first: list[float] = []
    last: list[float] = []
    frequency = counts / n
    if frequency[1:-1].max() < FRACTIED:
        if frequency[0] >= FRACTIED:
            first = [float(distinct[1])]
            remaining = remaining[remaining > first[0]]
            inner -= 1
        if frequency[-1] >= FRACTIED:
            last = [float(remaining[remaining < remaining.max()].max())]
            remaining = remaining[remaining < last[0]]
            inner -= 1
    if inner == 1:
        return _distinct_knots(np.array([*first, _median(remaining), *last])), notes
    if distinct.size <= inner:
        chosen = distinct.copy()
    else:
        levels = _r_seq(0.5, 1.0 - outer, inner) if inner == 2 else _r_seq(outer, 1.0 - outer, inner)
        chosen = _quantile_type7(remaining, levels)
        if np.unique(chosen).size < min(inner, 3):
            chosen = _quantile_type7(remaining, _r_seq(outer, 1.0 - outer, 2 * inner))
            if first and np.unique(chosen).size < 3:
                middle = (first[0] + last[0]) / 2 if last else _median(remaining)
                end = last[0] if last else float(_quantile_type7(remaining, np.array([1.0 - outer]))[0])
                chosen = np.sort(np.array([first[0], middle, end]))
            if np.unique(chosen).size < 3:
                raise StatisticalError(_too_few_knots_message(values))
            notes.append(
                f"could not obtain {inner} interior knots at the usual quantiles (tied values); the alternate "
                f"rule of rcspline.eval gave {np.unique(chosen).size} knots."
            )
    if remaining.size < SMALL_SAMPLE:
        if remaining.size < 5:
            raise StatisticalError(_too_few_knots_message(values))
        if not first:
            chosen[0] = remaining[4]
        if not last:
            chosen[inner - 1] = remaining[-5]
    return _distinct_knots(np.concatenate([first, chosen, last])), notes


def _distinct_knots(chosen: np.ndarray) -> np.ndarray:
    result = np.unique(chosen)
    if result.size < 3:
        raise StatisticalError("fewer than 3 distinct knots for the Ki-67 spline: Ki-67 has too few distinct values.")
    return result


def _too_few_knots_message(values: np.ndarray) -> str:
    return (
        f"fewer than 3 distinct knots for the Ki-67 spline: its {values.size} values are too heavily tied "
        f"({np.unique(values).size} distinct values)."
    )


def _r_seq(start: float, stop: float, length: int) -> np.ndarray:
    """R's `seq(start, stop, length.out = length)` (exact end points, interior start + i·step)."""
    if length == 1:
        return np.array([start])
    step = (stop - start) / (length - 1)
    return np.array([start, *(start + i * step for i in range(1, length - 1)), stop])


def _quantile_type7(ordered: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """R's `quantile(x, levels)` (type 7) of sorted values, with R's interpolation formula."""
    index = 1 + (ordered.size - 1) * levels
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    result = ordered[lo - 1].copy()
    upper = ordered[hi - 1]
    between = (index > lo) & (upper != result)
    h = (index - lo)[between]
    result[between] = (1 - h) * result[between] + h * upper[between]
    return result


def _median(ordered: np.ndarray) -> float:
    half = (ordered.size + 1) // 2
    if ordered.size % 2 == 1:
        return float(ordered[half - 1])
    return float((ordered[half - 1] + ordered[half]) / 2)


def restricted_cubic_spline_basis(x: np.ndarray, *, knots: np.ndarray) -> np.ndarray:
    """The nonlinear columns of `rms::rcs`: `Hmisc::rcspline.eval(x, knots)` with `norm = 2`.

    For knots t₁ < … < t_k and j = 1 … k − 2 (Stone & Koo 1985; Devlin &
    Weeks 1986; Harrell 2015, eq. 2.25)::

        xⱼ′ = [ (x − tⱼ)₊³ − (x − t_{k−1})₊³ (t_k − tⱼ)/(t_k − t_{k−1})
                           + (x − t_k)₊³ (t_{k−1} − tⱼ)/(t_k − t_{k−1}) ] / (t_k − t₁)²

    linear beyond the outer knots.  The division by (t_k − t₁)² (`norm = 2`)
    makes the column's scale that of x, so its coefficient is comparable with
    R's; it is computed as R does, dividing x − tⱼ by (t_k − t₁)^(2/3) before
    cubing.

    Returns
    -------
    numpy.ndarray
        Shape (n, k − 2); the linear term x itself is not included.
    """
    t = np.asarray(knots, dtype=float)
    values = np.asarray(x, dtype=float)
    scale = (t[-1] - t[0]) ** (2.0 / 3.0)
    columns = []
    for j in range(t.size - 2):
        columns.append(
            np.maximum((values - t[j]) / scale, 0.0) ** 3
            + (
                (t[-2] - t[j]) * np.maximum((values - t[-1]) / scale, 0.0) ** 3
                - (t[-1] - t[j]) * np.maximum((values - t[-2]) / scale, 0.0) ** 3
            )
            / (t[-1] - t[-2])
        )
    return np.column_stack(columns)


# ---------------------------------------------------------------- linearity of Ki-67


def ki67_linearity(
    *,
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...] | list[str],
    continuous: str = "ki67_percent",
    knots: int = 3,
) -> dict[str, Any]:
    """Likelihood-ratio test of linearity of a continuous predictor (restricted cubic spline).

    The linear model logit P(y=1) = β0 + xβ is compared with the model in
    which the continuous predictor c enters as a restricted cubic spline,
    β_c·c + Σⱼ γⱼ·cⱼ′ (`restricted_cubic_spline_basis`, knots at rms's
    default locations, `restricted_cubic_spline_knots`), the other
    predictors unchanged.  Both are fitted by maximum likelihood
    (`fit_logistic`), and::

        LR = 2 (ℓ_spline − ℓ_linear) ~ χ²(k − 2) under linearity (γ = 0),

    k the number of knots: 1 df for 3 knots.  This is R's
    `lrm(y ~ … + rcs(c, 3) + …)` against the linear `lrm`, LR = difference in
    deviance (Harrell 2015, §2.4.5 and §9.6).  The Wald test of γ = 0,
    W = γᵀ V_γ⁻¹ γ (V_γ its block of the inverse information), is reported too:
    it is `anova(lrm)`'s "Nonlinear" line.  The LR test is the one to quote:
    Wald tests of logistic coefficients are the less accurate of the two
    (Hauck & Donner 1977).

    Parameters
    ----------
    x, y
        The model's rows: predictor values (n, p) in the order of `names`, and
        the outcome (0/1).
    names
        The predictors; must contain `continuous`.
    continuous
        The predictor tested.
    knots
        Number of knots (3: one nonlinear term, 1 df).

    Returns
    -------
    dict
        ``predictor``; ``knots`` (list); ``df``; ``lr_chi2`` and ``p`` (the
        test); ``loglik_linear``, ``loglik_spline``; ``spline_coef`` and
        ``spline_se`` ({term: value}, terms "intercept", the predictors, the
        nonlinear term(s) named with a prime, e.g. "ki67_percent'", right
        after the linear one, as rms names them); ``wald_chi2``, ``wald_p``;
        ``notes`` (knot rule exceptions, as R's warnings).

    Raises
    ------
    ValueError
        `continuous` is not one of `names`.
    StatisticalError
        The spline cannot be placed, or the spline model cannot be fitted
        (separation, too few events): from `fit_logistic`.
    """
    names = tuple(names)
    if continuous not in names:
        raise ValueError(f"'{continuous}' is not among the predictors {names}")
    from scipy.stats import chi2

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    j = names.index(continuous)
    linear = fit_logistic(x=x, y=y, names=names)
    knot_values, notes = restricted_cubic_spline_knots(x[:, j], knots=knots)
    basis = restricted_cubic_spline_basis(x[:, j], knots=knot_values)
    nonlinear = tuple(continuous + "'" * m for m in range(1, basis.shape[1] + 1))
    spline = fit_logistic(
        x=np.column_stack([x[:, : j + 1], basis, x[:, j + 1 :]]),
        y=y,
        names=(*names[: j + 1], *nonlinear, *names[j + 1 :]),
    )
    df = basis.shape[1]
    # The spline model contains the linear one: a negative LR can only be rounding.
    lr = max(2.0 * (spline.loglik_ - linear.loglik_), 0.0)
    block = slice(j + 2, j + 2 + df)  # the nonlinear terms, after the intercept and the linear term
    gamma = spline.coef_[block]
    wald = float(gamma @ np.linalg.solve(spline.cov_[block, block], gamma))
    se = np.sqrt(np.diag(spline.cov_))
    return {
        "predictor": continuous,
        "knots": [float(t) for t in knot_values],
        "df": int(df),
        "lr_chi2": float(lr),
        "p": float(chi2.sf(lr, df)),
        "loglik_linear": linear.loglik_,
        "loglik_spline": spline.loglik_,
        "spline_coef": {name: float(b) for name, b in zip(spline.names, spline.coef_, strict=True)},
        "spline_se": {name: float(s) for name, s in zip(spline.names, se, strict=True)},
        "wald_chi2": wald,
        "wald_p": float(chi2.sf(wald, df)),
        "notes": notes,
    }


# ---------------------------------------------------------------- influential patients


@dataclass(frozen=True)
class InfluenceMeasures:
    """Per-patient influence of a fitted logistic model (one entry or row per patient)."""

    risk_: np.ndarray
    leverage_: np.ndarray
    cooks_distance_: np.ndarray
    dfbetas_: np.ndarray  # (n, k): intercept first, then the predictors


def influence_measures(*, x: np.ndarray, y: np.ndarray, coef: np.ndarray) -> InfluenceMeasures:
    """Leverage, Cook's distance and standardised dfbetas of every patient, as R's `glm` functions.

    With X̃ = [1, x], pᵢ = expit(x̃ᵢᵀβ̂), wᵢ = pᵢ(1 − pᵢ), k = p + 1 terms and
    V = (X̃ᵀWX̃)⁻¹ at the maximum-likelihood estimate β̂:

    - leverage hᵢ = wᵢ x̃ᵢᵀ V x̃ᵢ (R `hatvalues`);
    - Cook's distance, Pregibon's (1981) one-step form::

          Dᵢ = r_Pᵢ² hᵢ / (k (1 − hᵢ)²),   r_Pᵢ = (yᵢ − pᵢ)/√wᵢ (Pearson residual),

      R `cooks.distance(glm)` (dispersion 1) and statsmodels'
      `GLMInfluence.cooks_distance`;
    - standardised dfbetas, R `dfbetas(glm)`: `lm.influence` applied to the
      final weighted least-squares step of the fit, with the deviance
      residual dᵢ = sign(yᵢ − pᵢ)·√(−2[yᵢ log pᵢ + (1 − yᵢ) log(1 − pᵢ)])::

          dfbetaᵢ = V x̃ᵢ √wᵢ dᵢ / (1 − hᵢ),
          dfbetasᵢⱼ = dfbetaᵢⱼ / (σ₍ᵢ₎ √Vⱼⱼ),
          σ₍ᵢ₎² = (Σₗ dₗ² − dᵢ²/(1 − hᵢ)) / (n − k − 1).

      (statsmodels' `GLMInfluence.dfbetas` differs: Pearson residual and no
      σ₍ᵢ₎; R's is the one the 2/√n cut-off is used with in
      `influence.measures`.)

    Patients with the same findings and outcome get bit-identical values (they
    are computed once per distinct pattern), so ties in a ranking are exact.

    Raises
    ------
    ValueError
        `coef` is not the maximum-likelihood estimate for these data (these
        measures are defined at the MLE: pass `LogisticFit.coef_`, not shrunk
        coefficients), or there are too few patients (n ≤ k + 1).
    """
    from scipy.special import expit

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    coef = np.asarray(coef, dtype=float)
    n = y.size
    design = np.column_stack([np.ones(n), x])
    k = design.shape[1]
    if coef.size != k:
        raise ValueError(f"coef has {coef.size} values; the design has {k} terms (intercept first)")
    if n <= k + 1:
        raise ValueError(f"influence measures need more than {k + 1} patients; there are {n}")
    lp = np.full(n, coef[0])
    for j in range(1, k):  # column by column, not a BLAS product: identical rows, identical lp
        lp += design[:, j] * coef[j]
    risk = expit(lp)
    complement = expit(-lp)  # 1 − p without cancellation near p = 1
    weight = risk * complement
    residual = np.where(y == 1, complement, -risk)
    information = design.T @ (design * weight[:, None])
    cov = np.linalg.inv(information)
    cov = (cov + cov.T) / 2
    step = cov @ (design.T @ residual)
    if np.max(np.abs(step)) > MLE_TOLERANCE * (1.0 + np.max(np.abs(coef))):
        raise ValueError(
            "coef is not the maximum-likelihood estimate for these patients (a Newton step would still move it "
            f"by {np.max(np.abs(step)):.3g}); influence measures are defined at the MLE: pass fit.coef_."
        )
    projected = np.zeros((n, k))  # row i: V x̃ᵢ
    for j in range(k):
        for m in range(k):
            projected[:, j] += design[:, m] * cov[m, j]
    leverage = np.zeros(n)
    for j in range(k):
        leverage += projected[:, j] * design[:, j]
    leverage *= weight
    if np.any(leverage >= 1.0 - 1e-10):
        raise StatisticalError("a patient has leverage 1: the model is not identified without that patient.")
    pearson = residual / np.sqrt(weight)
    minus_log_likelihood = np.where(y == 1, np.logaddexp(0.0, -lp), np.logaddexp(0.0, lp))
    deviance = np.sign(residual) * np.sqrt(2.0 * minus_log_likelihood)
    cooks = pearson**2 * leverage / (k * (1.0 - leverage) ** 2)
    sigma = np.sqrt((np.sum(deviance**2) - deviance**2 / (1.0 - leverage)) / (n - k - 1))
    factor = np.sqrt(weight) * deviance / (1.0 - leverage) / sigma
    dfbetas = projected * factor[:, None] / np.sqrt(np.diag(cov))[None, :]
    # One computation per distinct (findings, outcome): vectorised kernels may round the same input
    # differently in different array positions, which would break ties between identical patients.
    _, first, inverse = np.unique(np.column_stack([x, y]), axis=0, return_index=True, return_inverse=True)
    same = first[inverse.reshape(-1)]
    return InfluenceMeasures(
        risk_=risk[same], leverage_=leverage[same], cooks_distance_=cooks[same], dfbetas_=dfbetas[same]
    )


def influence_cutoffs(*, n: int) -> dict[str, float]:
    """The flagging thresholds for n patients: Cook's distance 4/n, |dfbetas| 2/√n."""
    return {"cooks_distance": COOKS_DISTANCE_NUMERATOR / n, "dfbetas": DFBETAS_NUMERATOR / math.sqrt(n)}


def influential_patients(
    *,
    x: np.ndarray,
    y: np.ndarray,
    coef: np.ndarray,
    names: tuple[str, ...] | list[str],
    rows: np.ndarray | list[int],
    max_patients: int | None = MAX_INFLUENTIAL_LISTED,
) -> list[dict[str, Any]]:
    """Patients with a large influence on the fitted model, most influential first.

    A patient is flagged when Cook's distance Dᵢ > 4/n (Bollen & Jackman
    1985) or any |dfbetasᵢⱼ| > 2/√n, the intercept's included (Belsley, Kuh
    & Welsch 1980, §2.1), n the number of patients in the fit; both measures
    as `influence_measures` (R's `cooks.distance` and `dfbetas` of a binomial
    `glm`).  Flagged patients are ranked by Dᵢ (rounded to 12 significant
    digits), largest first, then by row number: the order does not depend on
    the CPU.  A flag is a reason to check that patient's record, not to drop
    the patient.

    Parameters
    ----------
    x, y
        The rows the model was fitted on (n, p) and their outcomes.
    coef
        The maximum-likelihood coefficients, intercept first (`LogisticFit.coef_`).
    names
        The predictors, in the order of the columns of `x`.
    rows
        Spreadsheet row number of each patient (`CompleteCase.row_numbers`).
    max_patients
        How many flagged patients to return (None: all of them).

    Returns
    -------
    list of dict
        One per flagged patient: ``row``; ``findings`` ({predictor: value});
        ``outcome`` (0/1); ``risk`` (fitted); ``leverage``;
        ``cooks_distance``; ``dfbetas`` ({term: value}, "intercept" first);
        ``max_abs_dfbetas`` and ``max_abs_dfbetas_term`` (the largest |dfbetas|
        and its term, the first one on a tie); ``flagged_by`` (a sub-list of
        ["cooks_distance", "dfbetas"]: which rule(s) flagged the patient).
    """
    names = tuple(names)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    row_numbers = [int(r) for r in np.asarray(rows).reshape(-1)]
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"x must have one column per predictor ({len(names)}: {', '.join(names)})")
    if len(row_numbers) != y.size or x.shape[0] != y.size:
        raise ValueError(f"x, y and rows must have one entry per patient (got {x.shape[0]}, {y.size}, {len(rows)})")
    if len(set(row_numbers)) != len(row_numbers):
        raise ValueError("row numbers must be distinct: one spreadsheet row per patient")
    measures = influence_measures(x=x, y=y, coef=coef)
    cutoffs = influence_cutoffs(n=y.size)
    terms = ("intercept", *names)
    magnitude = np.abs(measures.dfbetas_)
    worst = np.argmax(magnitude, axis=1)  # the first term on a tie
    largest = magnitude[np.arange(y.size), worst]
    by_cooks = measures.cooks_distance_ > cutoffs["cooks_distance"]
    by_dfbetas = largest > cutoffs["dfbetas"]
    flagged = sorted(
        np.flatnonzero(by_cooks | by_dfbetas).tolist(),
        key=lambda i: (-_significant(float(measures.cooks_distance_[i])), row_numbers[i]),
    )
    if max_patients is not None:
        flagged = flagged[:max_patients]
    return [
        {
            "row": row_numbers[i],
            "findings": {name: float(x[i, j]) for j, name in enumerate(names)},
            "outcome": int(y[i]),
            "risk": float(measures.risk_[i]),
            "leverage": float(measures.leverage_[i]),
            "cooks_distance": float(measures.cooks_distance_[i]),
            "dfbetas": {term: float(v) for term, v in zip(terms, measures.dfbetas_[i], strict=True)},
            "max_abs_dfbetas": float(largest[i]),
            "max_abs_dfbetas_term": terms[worst[i]],
            "flagged_by": [rule for rule, hit in (("cooks_distance", by_cooks[i]), ("dfbetas", by_dfbetas[i])) if hit],
        }
        for i in flagged
    ]


def _significant(value: float) -> float:
    return float(f"{value:.{RANKING_SIGNIFICANT_DIGITS}g}")
