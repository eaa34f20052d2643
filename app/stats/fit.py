"""Maximum-likelihood logistic regression (statsmodels `Logit`).

statsmodels is the reference fit: the bootstrap's batched Newton-Raphson
(`app.stats.batch_logistic`) is checked against it, and it against R's
`rms::lrm`.  Separation and non-convergence are refused with a named error,
because a logistic fit on separated data returns huge coefficients that look
like a model but are not one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from app.errors import CollinearityError, ConvergenceError, SeparationError, StatisticalError

Z_95 = 1.959963984540054

MIN_EVENTS = 10
"""Fewer than this many events or non-events cannot support even a one-predictor model."""

COLLINEARITY_TOLERANCE = 1e-8
"""Smallest singular value, relative to the largest, of the design matrix with unit-length columns
below which the predictors are called collinear.  Unit-length columns make the check independent of
units (Ki-67 in % or as a fraction); at a condition number of 1e8 the covariance of the estimates is
numerically meaningless, while real, merely correlated predictors stay far below it."""

SEPARATION_TOLERANCE = 1e-6
"""A coefficient counts as infinite when a separating direction of the unit-scaled design reaches this
far along it (directions are bounded by |βⱼ| ≤ 1; a genuine one reaches well above 1e-3, solver noise
stays below 1e-8)."""


@dataclass(frozen=True)
class CoefficientRow:
    """One row of the coefficient table."""

    name: str
    beta: float
    se: float
    odds_ratio: float
    or_ci95: tuple[float, float]
    z: float
    p: float


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic model: `names` = ["intercept", *predictors]."""

    names: tuple[str, ...]
    coef_: np.ndarray
    cov_: np.ndarray
    loglik_: float
    n: int
    events: int
    iterations: int

    @property
    def predictors(self) -> tuple[str, ...]:
        return self.names[1:]

    def linear_predictor(self, x: np.ndarray) -> np.ndarray:
        """lp = β0 + xβ for an (n, p) matrix of predictor values (no intercept column).

        Accumulated column by column in a fixed order rather than by a BLAS product, so that the
        result does not depend on the CPU's kernels and identical rows get identical lp.
        """
        lp = np.full(x.shape[0], self.coef_[0])
        for j in range(x.shape[1]):
            lp += x[:, j] * self.coef_[j + 1]
        return lp

    def table(self) -> list[CoefficientRow]:
        """β, SE, OR with Wald 95 % CI, z and two-sided p for every term."""
        return coefficient_rows(self.names, self.coef_, self.cov_)


def coefficient_rows(names: tuple[str, ...] | list[str], coef: np.ndarray, cov: np.ndarray) -> list[CoefficientRow]:
    """The coefficient table from estimates and their covariance (Wald z, two-sided p)."""
    rows = []
    for name, beta, variance in zip(names, np.asarray(coef, float), np.diag(np.asarray(cov, float)), strict=True):
        se = math.sqrt(variance)
        z = float(beta / se) if se > 0 else math.inf
        rows.append(
            CoefficientRow(
                name=name,
                beta=float(beta),
                se=se,
                odds_ratio=math.exp(beta),
                or_ci95=(math.exp(beta - Z_95 * se), math.exp(beta + Z_95 * se)),
                z=z,
                p=math.erfc(abs(z) / math.sqrt(2.0)),
            )
        )
    return rows


def check_event_counts(y: np.ndarray, *, what: str = "the cohort") -> None:
    """Refuse data with fewer than MIN_EVENTS events or non-events."""
    events = int(y.sum())
    non_events = int(y.size - events)
    if events < MIN_EVENTS or non_events < MIN_EVENTS:
        raise StatisticalError(
            f"{what} has {events} event(s) (non-curative resections) and {non_events} non-event(s) "
            f"after leaving out incomplete rows; at least {MIN_EVENTS} of each are needed to fit a model. "
            "Add patients or check how the outcome is coded (1 = non-curative)."
        )


def separated_predictors(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Predictors whose maximum-likelihood coefficient is infinite: (quasi-)complete separation.

    Konis (2007), as R's `detectseparation`: with sᵢ = 2yᵢ − 1 and x̃ᵢ = (1, xᵢ)
    (columns scaled to unit length), the MLE is finite exactly when the only
    β with sᵢx̃ᵢᵀβ ≥ 0 for every patient is β = 0 (Albert & Anderson 1984);
    any other such β is a direction along which the likelihood keeps
    rising.  Coefficient j is infinite when some such direction has βⱼ ≠ 0:
    two linear programmes per coefficient (max and min of βⱼ over those β,
    within |β| ≤ 1).  The design must have full rank (checked before), so no
    direction leaves every sᵢx̃ᵢᵀβ at 0.  Separation by a combination of
    predictors is found as well as by one alone; a patient with an extreme
    value (a G3 lesion with Ki-67 95 %) is not separation unless the outcome
    really is perfectly predicted.
    """
    from scipy.optimize import linprog

    design = np.column_stack([np.ones(x.shape[0]), x])
    design = design / np.linalg.norm(design, axis=0)
    signed = (2.0 * np.asarray(y, dtype=float) - 1.0)[:, None] * design
    k = design.shape[1]
    infinite = []
    for j in range(k):
        for direction in (1.0, -1.0):
            objective = np.zeros(k)
            objective[j] = -direction  # linprog minimises: −βⱼ to maximise βⱼ
            result = linprog(
                objective, A_ub=-signed, b_ub=np.zeros(signed.shape[0]), bounds=[(-1.0, 1.0)] * k, method="highs"
            )
            if result.status == 0 and -result.fun > SEPARATION_TOLERANCE:
                infinite.append(j)
                break
    return [names[j - 1] for j in infinite if j > 0]


def collinear_predictors(x: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Predictors involved in an (almost) exact linear dependence among the design's columns.

    The design is [1, x] with each column scaled to unit length; its singular values s₁ ≥ … ≥ sₖ.
    Every right singular vector with sᵢ < COLLINEARITY_TOLERANCE·s₁ is a combination of columns that
    is (nearly) zero for every patient; the predictors with a non-negligible weight in it are named.
    An empty list means the design has full rank.
    """
    design = np.column_stack([np.ones(x.shape[0]), x])
    scaled = design / np.linalg.norm(design, axis=0)
    _, singular, right = np.linalg.svd(scaled, full_matrices=False)
    involved: set[int] = set()
    for s, direction in zip(singular, right, strict=True):
        if s < COLLINEARITY_TOLERANCE * singular[0]:
            weights = np.abs(direction[1:])
            involved.update(int(j) for j in np.flatnonzero(weights > 1e-6 * np.abs(direction).max()))
    return [names[j] for j in sorted(involved)]


def _collinearity_message(names: list[str]) -> str:
    listed = ", ".join(f"'{n}'" for n in names)
    return (
        f"the predictors {listed} are collinear in this cohort: one of them is (almost) exactly a linear "
        "combination of the others (for example the same finding entered twice, or in two units), so their "
        "separate effects cannot be estimated. Leave one of them out with --predictors."
    )


def fit_logistic(*, x: np.ndarray, y: np.ndarray, names: tuple[str, ...] | list[str]) -> LogisticFit:
    """Fit logit P(y=1) = β0 + xβ by maximum likelihood.

    The covariance is the inverse observed information (X̃ᵀWX̃)⁻¹, as
    `rms::lrm`'s `vcov`.

    Raises
    ------
    StatisticalError
        Too few events or non-events.
    SeparationError
        The outcome is (quasi-)completely separated; names the predictor(s).
    ConvergenceError
        Newton-Raphson did not converge.
    CollinearityError
        Collinear predictors (by the rank of the design, before fitting); names them.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    names = tuple(names)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    check_event_counts(y)
    for j, name in enumerate(names):
        if np.ptp(x[:, j]) == 0:
            raise StatisticalError(
                f"predictor '{name}' has the same value ({x[0, j]:g}) for every patient, so its effect "
                "cannot be estimated. Leave it out with --predictors."
            )
    collinear = collinear_predictors(x, names)
    if collinear:
        raise CollinearityError(_collinearity_message(collinear))
    separating = separated_predictors(x, y, names)
    if separating:
        raise SeparationError(_separation_message(separating))
    design = np.column_stack([np.ones(y.size), x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        warnings.simplefilter("ignore", category=PerfectSeparationWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        try:
            result = sm.Logit(y, design).fit(method="newton", maxiter=100, disp=0, tol=1e-10)
        except np.linalg.LinAlgError:
            raise CollinearityError(
                "the fit's information matrix could not be inverted: the predictors are nearly collinear in "
                "this cohort, so their separate effects cannot be estimated. Leave one out with --predictors."
            ) from None
    coef = np.asarray(result.params, dtype=float)
    if not result.mle_retvals.get("converged", False):
        raise ConvergenceError(
            "the maximum-likelihood fit did not converge in 100 Newton steps, although the data are neither "
            "separated nor collinear. This is unusual: please report it with the cohort's summary (n, events, "
            "the range of each predictor)."
        )
    cov = np.asarray(result.cov_params(), dtype=float)
    cov = (cov + cov.T) / 2  # an inverse computed by BLAS is symmetric only to rounding
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        raise StatisticalError("the fit's covariance matrix is not finite: the predictors are (nearly) collinear.")
    return LogisticFit(
        names=("intercept", *names),
        coef_=coef,
        cov_=cov,
        loglik_=float(result.llf),
        n=int(y.size),
        events=int(y.sum()),
        iterations=int(result.mle_retvals.get("iterations", 0)),
    )


def _separation_message(names: list[str]) -> str:
    listed = ", ".join(f"'{n}'" for n in names)
    which = f"{listed} predicts" if len(names) == 1 else f"a combination of {listed} predicts"
    return (
        f"perfect or quasi-complete separation: {which} the outcome without error for part or all of this "
        "cohort, so the maximum-likelihood coefficients of those predictors do not exist (they run off to "
        "infinity). Check the coding of those columns and of non_curative_resection; with real separation, "
        "collect more patients, merge sparse categories or use a penalised (Firth) fit outside this tool."
    )
