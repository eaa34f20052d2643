# Independent R reference for tests/stats/test_separation_against_r.py
# (app/stats/fit.py: separated_predictors, the linear-programming check of
# Konis 2007 / Albert & Anderson 1984).
#
# Run from the repository root:
#     Rscript tests/reference/make_separation_reference.R
# Needs lpSolve (Debian's r-cran-lpsolve 5.6).  The detectseparation package
# (not packaged by Debian; brglm2 0.9 no longer carries it) finds infinite
# maximum-likelihood estimates by one linear programme (Konis 2007, ch. 4;
# detectseparation's separator_ROI, default solver lpsolve): maximise
# colSums(Xbar) b subject to Xbar b >= 0 and -1 <= b <= 1, Xbar = the model
# matrix with the rows of y = 0 negated; the coefficients with |b| > 1e-3 at
# the optimum are infinite, with the sign of b.  `separator` below is that
# programme, written for lpSolve::lp (which takes variables >= 0: b = u - 1,
# 0 <= u <= 2).  The Python code under test uses another formulation (two
# programmes per coefficient on a column-scaled design) and another solver
# (HiGHS).  Deterministic (set.seed per case).  Writes
# tests/reference/separation_reference.json: for each case the data (x as
# rows of surface_depression, ki67_percent, cga_positive; y) and what
# detect_separation says: whether there is separation and, for each
# coefficient, 0 (finite MLE) or +Inf / -Inf (written as "inf" / "-inf").
# Records the MD5 of the demo and few-events cohorts it reads.

suppressMessages(library(lpSolve))
source("tests/reference/json_writer.R")

separator <- function(x, y, tolerance = 1e-3) {
  xbar <- x * ifelse(y == 0, -1, 1)
  m <- ncol(xbar)
  constraints <- rbind(xbar, diag(m))
  directions <- c(rep(">=", nrow(xbar)), rep("<=", m))
  rhs <- c(as.vector(xbar %*% rep(1, m)), rep(2, m))  # Xbar (u - 1) >= 0;  u <= 2
  solution <- lp("max", colSums(xbar), constraints, directions, rhs)
  if (solution$status != 0) stop("lpSolve did not find an optimum")
  beta <- solution$solution - 1
  names(beta) <- colnames(x)
  list(outcome = any(abs(beta) > tolerance), beta = ifelse(abs(beta) > tolerance, sign(beta) * Inf, 0))
}

demo <- read.csv("model_artifacts/rnet-demo-cohort.csv")
demo <- demo[!is.na(demo$surface_depression) & !is.na(demo$ki67_percent) & !is.na(demo$cga_positive) &
             !is.na(demo$non_curative_resection) & (is.na(demo$tumor_diameter_mm) | demo$tumor_diameter_mm <= 20), ]
few <- read.csv("tests/reference/few-events-cohort.csv")

as_case <- function(d, y) list(d = d, y = y)
frame <- function(d, k, c) data.frame(surface_depression = d, ki67_percent = k, cga_positive = c)

cases <- list()

set.seed(1)
n <- 60
k <- round(runif(n, 0.2, 19.5), 1)
cases$threshold_ki67 <- as_case(frame(rbinom(n, 1, 0.4), k, rbinom(n, 1, 0.5)), as.integer(k > 8))

set.seed(2)
n <- 80
d <- rbinom(n, 1, 0.3); c <- rbinom(n, 1, 0.5); k <- round(runif(n, 0.5, 15), 1)
y <- rbinom(n, 1, 0.3); y[c == 1 & d == 1] <- 1L
cases$quasi_complete_cell <- as_case(frame(d, k, c), y)

set.seed(3)
n <- 90
d <- rbinom(n, 1, 0.5); c <- rbinom(n, 1, 0.5); k <- round(runif(n, 0.5, 15), 1)
y <- rbinom(n, 1, 0.5); y[d == 1 & c == 1] <- 1L; y[d == 0 & c == 0] <- 0L
cases$combination_of_binaries <- as_case(frame(d, k, c), y)

set.seed(4)
n <- 70
d <- rbinom(n, 1, 0.4); c <- rbinom(n, 1, 0.5); k <- round(runif(n, 0.5, 15), 1)
cases$continuous_combination <- as_case(frame(d, k, c), as.integer(k + 10 * c > 12))

set.seed(6)
n <- 80
d <- rbinom(n, 1, 0.4); c <- rbinom(n, 1, 0.4); k <- round(runif(n, 0.5, 15), 1)
y <- rbinom(n, 1, 0.45); y[c == 1] <- 0L  # CgA-positive lesions never events: its coefficient runs to -Inf
cases$negative_empty_cell <- as_case(frame(d, k, c), y)

set.seed(5)
n <- 120
d <- rbinom(n, 1, 0.3); c <- rbinom(n, 1, 0.5); k <- round(rexp(n, 1 / 4), 1)
y <- rbinom(n, 1, plogis(-3 + 1.2 * d + 0.25 * k + 1.1 * c))
cases$random_logistic <- as_case(frame(d, k, c), y)

g3 <- rbind(demo[, c("surface_depression", "ki67_percent", "cga_positive")], frame(1, 95, 1))
cases$demo_with_g3_event <- as_case(g3, c(demo$non_curative_resection, 1L))
cases$few_events <- as_case(few[, c("surface_depression", "ki67_percent", "cga_positive")], few$non_curative_resection)

result <- list()
for (name in names(cases)) {
  x <- cases[[name]]$d
  y <- cases[[name]]$y
  fit <- separator(model.matrix(~ surface_depression + ki67_percent + cga_positive, data = x), y)
  beta <- fit$beta  # 0 finite, Inf / -Inf infinite
  result[[name]] <- list(
    x = lapply(seq_len(nrow(x)), function(i) I(as.numeric(x[i, ]))),
    y = I(as.integer(y)),
    separation = isTRUE(fit$outcome),
    beta = lapply(as.list(beta), function(b) if (is.infinite(b)) (if (b > 0) "inf" else "-inf") else 0)
  )
}
out <- list(
  lpSolve = as.character(packageVersion("lpSolve")),
  demo_md5 = unname(tools::md5sum("model_artifacts/rnet-demo-cohort.csv")),
  few_events_md5 = unname(tools::md5sum("tests/reference/few-events-cohort.csv")),
  cases = result
)
writeLines(to_json(out), "tests/reference/separation_reference.json")
