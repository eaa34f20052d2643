# Independent R reference values for tests/stats/test_against_r.py.
#
# Run from the repository root:
#     Rscript tests/reference/make_reference.R
# It reads model_artifacts/rnet-demo-cohort.csv, writes the small all-binary
# cohort tests/reference/ties-cohort.csv (many tied risks) and writes every
# reference value to tests/reference/r_reference.json with 17 significant
# digits (jsonlite's writer does not round-trip doubles, so JSON is written by
# hand below).  The Python tests only read the JSON and the two CSV files.

suppressPackageStartupMessages({
  library(rms)
  library(pROC)
})

out_dir <- file.path("tests", "reference")
demo_csv <- file.path("model_artifacts", "rnet-demo-cohort.csv")
ties_csv <- file.path(out_dir, "ties-cohort.csv")
json_out <- file.path(out_dir, "r_reference.json")
if (!file.exists(demo_csv)) stop("run from the repository root: ", demo_csv, " not found")

source(file.path("tests", "reference", "json_writer.R"))
num <- function(x) I(unname(as.numeric(x)))  # always an array
named_numbers <- function(x) as.list(setNames(as.numeric(x), names(x)))

# ---------------------------------------------------------------- analyses
# The data in Python are read with app.stats.cohort.read_cohort, so the tests
# compare each figure computed from the same rows.

Z <- qnorm(0.975)

hosmer_lemeshow <- function(y, p, g = 10) {
  groups <- cut(p, breaks = unique(quantile(p, 0:g / g)), include.lowest = TRUE)
  n_g <- as.numeric(table(groups))
  keep <- n_g > 0
  o <- tapply(y, groups, sum)[keep]
  e <- tapply(p, groups, sum)[keep]
  n_g <- n_g[keep]
  chi2 <- sum((o - e)^2 / (e * (1 - e / n_g)))
  df <- length(n_g) - 2
  list(chi2 = chi2, df = as.integer(df), p = pchisq(chi2, df, lower.tail = FALSE),
       groups = as.integer(length(n_g)), n = num(n_g), observed = num(o), expected = num(e))
}

net_benefit <- function(y, p, thresholds = (1:99) / 100) {
  n <- length(y)
  prev <- mean(y)
  odds <- thresholds / (1 - thresholds)
  model <- vapply(thresholds, function(t) {
    positive <- p >= t
    tp <- sum(positive & y == 1)
    fp <- sum(positive & y == 0)
    tp / n - fp / n * t / (1 - t)
  }, 0)
  list(threshold = num(thresholds), net_benefit_model = num(model),
       net_benefit_all = num(prev - (1 - prev) * odds))
}

# lowess/loess values per distinct p.  Tied p get the same fitted value
# (lowess copies it; loess "direct" refits at each copy, equal up to ~1e-16
# of rounding, checked below), so one value per distinct p is kept (the mean).
per_unique <- function(x, fitted) {
  ux <- sort(unique(x))
  group <- match(x, ux)  # exact double equality (no factor(): its labels round to 15 digits)
  spread <- vapply(seq_along(ux), function(k) diff(range(fitted[group == k])), 0)
  if (max(spread) > 1e-12) stop("tied x got different fitted values")
  list(x = num(ux), fitted = num(vapply(seq_along(ux), function(k) mean(fitted[group == k]), 0)))
}

analyse <- function(d, predictors, grid = NULL, boot = 0) {
  y <- d$non_curative_resection
  f <- as.formula(paste("non_curative_resection ~", paste(predictors, collapse = " + ")))
  # lrm's default stopping rule (eps = 0.025, a change in -2 log L) stops a
  # step early: its coefficients are ~1e-9 (relative) from the maximum.  The
  # reference is the converged MLE (eps = 1e-12, max |score| ~1e-14); the
  # default fit is kept too, to show what a plain lrm() call gives.
  fit <- lrm(f, data = d, x = TRUE, y = TRUE, eps = 1e-12)
  fit_default <- lrm(f, data = d)
  lp <- unname(fit$linear.predictors)
  p <- plogis(lp)
  res <- list(
    n = length(y), events = sum(y), predictors = I(predictors),
    coef_names = I(names(coef(fit))), coef = num(coef(fit)), vcov = unname(vcov(fit)),
    loglik = unname(fit$deviance[2]) / -2,
    max_abs_score = unname(fit$stats["Max Deriv"]),
    coef_lrm_default_eps = num(coef(fit_default)),
    lp = num(lp)
  )

  if (!is.null(grid)) {
    pr <- predict(fit, newdata = grid, se.fit = TRUE)
    res$predictions <- c(
      lapply(as.list(grid), num),
      list(lp = num(pr$linear.predictors), se = num(pr$se.fit),
           probability = num(plogis(pr$linear.predictors)),
           lower = num(plogis(pr$linear.predictors - Z * pr$se.fit)),
           upper = num(plogis(pr$linear.predictors + Z * pr$se.fit)))
    )
  }

  r <- roc(y, lp, direction = "<", levels = c(0, 1), quiet = TRUE)
  ci <- ci.auc(r, method = "delong", conf.level = 0.95)
  res$auc <- list(auc = as.numeric(auc(r)), lower = ci[1], upper = ci[3],
                  var = var(r, method = "delong"), se = sqrt(var(r, method = "delong")))

  lw <- lowess(p, y, iter = 0)  # f = 2/3, delta = 0.01 * diff(range(p))
  res$lowess <- per_unique(lw$x, lw$y)
  res$lowess$n_points_returned <- length(lw$x)

  loess_warnings <- character()
  lo <- withCallingHandlers(
    loess(y ~ p, degree = 2, span = 0.75, control = loess.control(surface = "direct")),
    warning = function(w) {
      loess_warnings <<- c(loess_warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  lo_fit <- unname(fitted(lo))
  # ICI as Austin & Steyerberg (2019) publish it: loess with R's defaults (surface = "interpolate").
  res$loess <- c(per_unique(p, lo_fit), list(
    ici_direct = mean(abs(lo_fit - p)),
    ici = mean(abs(fitted(loess(y ~ p)) - p)),
    warnings = I(loess_warnings)
  ))

  vp <- val.prob(p, y, pl = FALSE)
  res$val_prob <- named_numbers(vp)

  # glm's default convergence (epsilon = 1e-8 on the deviance) leaves its SEs
  # ~1e-6 from their value at the MLE (the IRLS weights are one step old), so
  # the reference is glm run to convergence.
  tight <- glm.control(epsilon = 1e-14, maxit = 100)
  citl <- glm(y ~ 1, offset = qlogis(p), family = binomial, control = tight)
  slope <- glm(y ~ qlogis(p), family = binomial, control = tight)
  res$calibration_in_the_large <- list(
    estimate = unname(coef(citl)[1]), se = unname(sqrt(vcov(citl)[1, 1])))
  res$calibration_intercept_slope <- list(
    intercept = unname(coef(slope)[1]), intercept_se = unname(sqrt(vcov(slope)[1, 1])),
    slope = unname(coef(slope)[2]), slope_se = unname(sqrt(vcov(slope)[2, 2])))

  res$brier <- mean((p - y)^2)
  spi_z <- sum((y - p) * (1 - 2 * p)) / sqrt(sum((1 - 2 * p)^2 * p * (1 - p)))
  res$spiegelhalter <- list(z = spi_z, p = 2 * pnorm(-abs(spi_z)))

  res$hosmer_lemeshow <- hosmer_lemeshow(y, p)
  res$decision_curve <- net_benefit(y, p)

  if (boot > 0) {
    set.seed(20240221)
    v <- validate(fit, B = boot, method = "boot")
    table <- lapply(rownames(v), function(index) as.list(setNames(as.numeric(v[index, ]), colnames(v))))
    names(table) <- rownames(v)
    res$validate <- list(
      B = as.integer(boot), seed = 20240221L, table = table,
      auc_corrected = (v["Dxy", "index.corrected"] + 1) / 2,
      auc_apparent = (v["Dxy", "index.orig"] + 1) / 2
    )
  }
  res
}

# ---------------------------------------------------------------- main cohort
demo <- read.csv(demo_csv, stringsAsFactors = FALSE)
predictors <- c("surface_depression", "ki67_percent", "cga_positive")
grid <- expand.grid(ki67_percent = c(0, 0.5, 2.37, 5, 10, 19.2, 30),
                    cga_positive = c(0, 1), surface_depression = c(0, 1))[, predictors]
main <- analyse(demo, predictors, grid = grid, boot = 1000)

# ---------------------------------------------------------------- ties cohort
# Three binary predictors: at most 8 distinct risks, so ties everywhere
# (AUC midranks, lowess/loess on tied x, HL with fewer groups, NB at p == t).
set.seed(7)
n_ties <- 240
ties <- data.frame(
  patient_id = sprintf("TIE-%03d", seq_len(n_ties)),
  surface_depression = rbinom(n_ties, 1, 0.35),
  cga_positive = rbinom(n_ties, 1, 0.6),
  syn_positive = rbinom(n_ties, 1, 0.5)
)
lp_true <- -2 + 1.5 * ties$surface_depression + 0.7 * ties$cga_positive + 0.4 * ties$syn_positive
ties$non_curative_resection <- rbinom(n_ties, 1, plogis(lp_true))
write.csv(ties, ties_csv, row.names = FALSE, quote = FALSE)
ties <- read.csv(ties_csv, stringsAsFactors = FALSE)
ties_res <- analyse(ties, c("surface_depression", "cga_positive", "syn_positive"))

# ---------------------------------------------------------------- write
doc <- list(
  generated_by = "tests/reference/make_reference.R",
  versions = list(
    R = R.version.string,
    rms = as.character(packageVersion("rms")),
    Hmisc = as.character(packageVersion("Hmisc")),
    pROC = as.character(packageVersion("pROC"))
  ),
  data = list(
    main = list(file = demo_csv, md5 = unname(tools::md5sum(demo_csv))),
    ties = list(file = ties_csv, md5 = unname(tools::md5sum(ties_csv)))
  ),
  main = main,
  ties = ties_res
)
writeLines(to_json(doc), json_out)
cat("wrote", json_out, "\n")
