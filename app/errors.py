"""Errors that cross layer boundaries.

A `UserInputError` is a problem the person running the tool can fix (a bad
cohort file, a wrong argument, an artifact that fails verification).  The
command line turns it into a one-paragraph message and exit code 2; the web
layer never lets one become a 500.
"""


class UserInputError(Exception):
    """Something the user supplied is wrong; the message says what and how to fix it."""


class StatisticalError(UserInputError):
    """The data cannot support the requested model (separation, too few events, non-convergence)."""


class SeparationError(StatisticalError):
    """Perfect or quasi-complete separation: maximum-likelihood estimates do not exist."""


class ConvergenceError(StatisticalError):
    """The likelihood maximisation did not converge."""


class CollinearityError(StatisticalError):
    """The design matrix is rank-deficient: some predictors are a linear combination of others."""
