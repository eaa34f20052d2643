# Independent R reference values for tests/stats/test_diagnostics.py
# (app/stats/diagnostics.py: linearity of Ki-67 and influential patients).
#
# Run from the repository root:
#     Rscript tests/reference/make_diagnostics_reference.R
# It reads model_artifacts/rnet-demo-cohort.csv and
# tests/reference/few-events-cohort.csv and writes
# tests/reference/diagnostics_reference.json (doubles with 17 significant
# digits, by the shared writer json_writer.R).  Deterministic: no random
# numbers are drawn.  Re-run it whenever the demo cohort is regenerated (the
# tests compare the MD5 of both CSV files with the ones recorded here).
#
# For each cohort:
#   linearity  rms::lrm(y ~ surface_depression + rcs(ki67_percent, 3) + cga_positive)
#              against the linear lrm: knots (rms's rcs() defaults, i.e.
#              Hmisc::rcspline.eval with nk = 3, fractied = 0.05, norm = 2),
#              the nonlinear basis column for every patient, the spline
#              model's coefficients and SEs, LR chi-squared = difference in
#              deviance, df = knots - 2, its p, and anova()'s "Nonlinear" Wald
#              test for the record.
#   influence  glm(binomial) of the linear model run to convergence:
#              hatvalues, cooks.distance and dfbetas for every patient, the
#              patients flagged by Cook's D > 4/n or any |dfbetas| > 2/sqrt(n)
#              and their order (Cook's D to 12 significant digits,
#              descending, then spreadsheet row).
# Cohorts: "demo" (all 213 rows), "few_events" (150 patients, 10 events),
# "demo_head" (the demo cohort's first 80 rows: fewer than 100 patients,
# so rcs() puts the outer knots at the 5th smallest and 5th largest value),
# and the demo cohort with one G3 lesion (Ki-67 95 %) appended as its last
# row, once as an event ("g3_event") and once as a curative resection
# ("g3_non_event").  A separate section gives rcs() knots for small vectors
# that reach every branch of rcspline.eval's knot rule.

suppressPackageStartupMessages(library(rms))

out_dir <- file.path("tests", "reference")
demo_csv <- file.path("model_artifacts", "rnet-demo-cohort.csv")
few_csv <- file.path(out_dir, "few-events-cohort.csv")
json_out <- file.path(out_dir, "diagnostics_reference.json")
if (!file.exists(demo_csv)) stop("run from the repository root: ", demo_csv, " not found")

source(file.path("tests", "reference", "json_writer.R"))
num <- function(x) I(unname(as.numeric(x)))  # always an array
int <- function(x) I(unname(as.integer(x)))

predictors <- c("surface_depression", "ki67_percent", "cga_positive")
outcome <- "non_curative_resection"
f_linear <- non_curative_resection ~ surface_depression + ki67_percent + cga_positive
f_spline <- non_curative_resection ~ surface_depression + rcs(ki67_percent, 3) + cga_positive
MAX_DIAMETER_MM <- 20  # app.stats.train.MODEL_POPULATION_MAX_DIAMETER_MM
# glm's default epsilon (1e-8 on the deviance) leaves the IRLS weights one
# step old; run to convergence, as make_reference.R does.
tight <- glm.control(epsilon = 1e-14, maxit = 100)

# The rows app.stats.train fits: complete cases of the predictors and the
# outcome, tumours over 20 mm left out; `row` is the spreadsheet row number
# (header = row 1), as app.stats.cohort numbers them.
model_rows <- function(d) {
  d$row <- seq_len(nrow(d)) + 1L
  keep <- complete.cases(d[, c(predictors, outcome)])
  if ("tumor_diameter_mm" %in% names(d)) {
    keep <- keep & !(is.finite(d$tumor_diameter_mm) & d$tumor_diameter_mm > MAX_DIAMETER_MM)
  }
  d[keep, c("row", predictors, outcome)]
}

linearity <- function(d) {
  # lrm's default eps = 0.025 stops a step early; with eps = 1e-12 it needs
  # more than its default 12 iterations on these data (max |score| ~1e-13).
  linear <- lrm(f_linear, data = d, eps = 1e-12, maxit = 50)
  spline <- lrm(f_spline, data = d, eps = 1e-12, maxit = 50)
  if (linear$fail || spline$fail) stop("lrm did not converge")
  knots <- spline$Design$parms$ki67_percent
  stopifnot(identical(unname(knots), unname(rcspline.eval(d$ki67_percent, nk = 3, knots.only = TRUE))))
  basis <- rcspline.eval(d$ki67_percent, knots = knots)  # the nonlinear column(s), norm = 2
  lr <- unname(linear$deviance[2] - spline$deviance[2])
  df <- length(knots) - 2L
  a <- anova(spline)
  list(
    knots = num(knots),
    df = as.integer(df),
    lr_chi2 = lr,
    p = pchisq(lr, df, lower.tail = FALSE),
    loglik_linear = unname(linear$deviance[2]) / -2,
    loglik_spline = unname(spline$deviance[2]) / -2,
    spline_coef_names = I(names(coef(spline))),
    spline_coef = num(coef(spline)),
    spline_se = num(sqrt(diag(vcov(spline)))),
    spline_max_abs_score = unname(spline$stats["Max Deriv"]),
    basis = num(basis[, 1]),
    anova_nonlinear_wald = list(
      chi2 = a[" Nonlinear", "Chi-Square"], df = as.integer(a[" Nonlinear", "d.f."]), p = a[" Nonlinear", "P"]
    )
  )
}

influence <- function(d) {
  # glm's QR (hence hatvalues, dfbetas) holds the IRLS weights of the step
  # before the last one: from a cold start they are ~1e-6 (relative) off the
  # MLE however small epsilon is.  Started at lrm's converged MLE, the weights
  # are those of the MLE to ~1e-13.
  mle <- lrm(f_linear, data = d, eps = 1e-12, maxit = 50)
  g <- glm(f_linear, family = binomial, data = d, start = unname(coef(mle)), control = tight)
  n <- nrow(d)
  cd <- unname(cooks.distance(g))  # (pearson / (1 - h))^2 * h / p, dispersion 1
  db <- unname(dfbetas(g))         # lm.influence on the IRLS fit: deviance residuals, sigma_(i)
  max_db <- apply(abs(db), 1, max)
  by_cook <- cd > 4 / n
  by_dfbetas <- max_db > 2 / sqrt(n)
  flagged <- which(by_cook | by_dfbetas)
  ranked <- flagged[order(-signif(cd[flagged], 12), d$row[flagged])]
  list(
    n = n, events = sum(d[[outcome]]),
    rows = int(d$row),
    coef = num(coef(g)),
    glm_iterations = as.integer(g$iter),
    max_abs_score = max(abs(colSums(model.matrix(g) * (d[[outcome]] - fitted(g))))),
    hat = num(hatvalues(g)),
    cooks_distance = num(cd),
    dfbetas = db,
    cutoff_cooks_distance = 4 / n,
    cutoff_dfbetas = 2 / sqrt(n),
    flagged_rows = int(d$row[ranked]),
    flagged_by_cooks_distance = I(unname(by_cook[ranked])),
    flagged_by_dfbetas = I(unname(by_dfbetas[ranked])),
    max_abs_dfbetas = num(max_db[ranked]),
    max_abs_dfbetas_term = I(c("intercept", predictors)[apply(abs(db[ranked, , drop = FALSE]), 1, which.max)])
  )
}

analyse <- function(d, file) {
  list(file = file, n = nrow(d), events = sum(d[[outcome]]),
       linearity = linearity(d), influence = influence(d))
}

# ---------------------------------------------------------------- cohorts
demo <- model_rows(read.csv(demo_csv, stringsAsFactors = FALSE))
few <- model_rows(read.csv(few_csv, stringsAsFactors = FALSE))
n_demo_rows <- nrow(read.csv(demo_csv))

# One G3 lesion appended to the demo cohort as its last spreadsheet row.
g3_findings <- list(surface_depression = 1, ki67_percent = 95, cga_positive = 0)
g3 <- function(y) {
  patient <- data.frame(row = n_demo_rows + 2L, g3_findings, non_curative_resection = y)
  rbind(demo, patient[, names(demo)])
}

cohorts <- list(
  demo = analyse(demo, demo_csv),
  few_events = analyse(few, few_csv),
  demo_head = analyse(demo[demo$row <= 81, ], demo_csv),
  g3_event = analyse(g3(1), demo_csv),
  g3_non_event = analyse(g3(0), demo_csv)
)

# ---------------------------------------------------------------- knot rule
# rcs(x, 3) knots (rcspline.eval(x, nk = 3, knots.only = TRUE), fractied = 0.05)
# for vectors that reach each branch; R's warnings are recorded.
knot_cases <- list(
  # quantiles 0.1, 0.5, 0.9 (n >= 100, no end value tied in >= 5 %)
  quantiles = seq(0.3, 30, by = 0.3),
  # n < 100: outer knots at the 5th smallest and 5th largest value
  small_n = c(0.1, 0.2, 0.4, 0.5, 0.8, 1, 1.3, 1.7, 2, 2.4, 3, 3.5, 4.1, 5, 6.2, 8, 9.5, 12, 15, 20),
  # the smallest value in >= 5 % of patients, no interior value: first knot at the second smallest value
  tied_minimum = c(rep(0, 10), seq(0.5, 70, by = 0.5)),
  # the largest value tied likewise
  tied_maximum = c(seq(0.1, 14, by = 0.1), rep(20, 10)),
  # both ends tied: second smallest, median of the rest, second largest
  tied_both_ends = c(rep(0, 10), 1:130, rep(200, 10)),
  # an interior value in >= 5 % as well: the tie rule does not apply
  tied_minimum_and_interior = c(rep(0, 10), rep(7, 10), seq(0.5, 65, by = 0.5)),
  # n < 100 and the smallest value tied: the last knot alone moves to the 5th largest value
  small_n_tied_minimum = c(rep(0, 6), seq(0.5, 30, by = 0.5)),
  # at most nk + 2 distinct values: the interior ones (R warns)
  few_distinct = rep(c(1, 2, 3, 4, 5), each = 30),
  # the 0.1 and 0.5 quantiles coincide: the alternate rule, quantiles at
  # seq(0.1, 0.9, length = 6), which gives 4 distinct knots here (R warns)
  alternate_rule = c(1:10, rep(50, 100), 51:140)
)
knots_section <- lapply(knot_cases, function(x) {
  warnings_seen <- character()
  knots <- withCallingHandlers(
    rcspline.eval(x, nk = 3, knots.only = TRUE),
    warning = function(w) {
      warnings_seen <<- c(warnings_seen, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(x = num(x), knots = num(knots), warnings = I(warnings_seen),
       basis = num(rcspline.eval(x, knots = knots)[, 1]))
})

# ---------------------------------------------------------------- write
doc <- list(
  generated_by = "tests/reference/make_diagnostics_reference.R",
  versions = list(
    R = R.version.string,
    rms = as.character(packageVersion("rms")),
    Hmisc = as.character(packageVersion("Hmisc"))
  ),
  data = list(
    demo = list(file = demo_csv, md5 = unname(tools::md5sum(demo_csv))),
    few_events = list(file = few_csv, md5 = unname(tools::md5sum(few_csv)))
  ),
  predictors = I(predictors),
  g3_patient = c(list(row = n_demo_rows + 2L), g3_findings),
  cohorts = cohorts,
  knots = knots_section
)
writeLines(to_json(doc), json_out)
cat("wrote", json_out, "\n")
