# R reference values for the integrated calibration index (ICI) and the
# loess smoother behind it, for tests/stats/test_smoothers_loess.py.
#
# Run from the repository root:
#     Rscript tests/reference/make_ici_reference.R
# It needs only base R (stats::loess).  It makes a few synthetic cohorts
# (set.seed per cohort, so it is deterministic), and writes their predicted
# risks p and outcomes y, and R's results, to tests/reference/ici_reference.json
# with every double written so that it round-trips exactly.
#
# For each cohort:
#   lo <- loess(y ~ p)        # the defaults: degree 2, span 0.75, gaussian,
#                             # surface = "interpolate", cell = 0.2
#   fitted(lo) per distinct p (tied p get identical values: checked)
#   ici = mean(abs(p - fitted(lo)))          (Austin & Steyerberg 2019)
#   the k-d tree's vertices (lo$kd: bounding box ends and split values) with
#   the local fit's value and slope at each (lo$kd$vval), sorted by vertex
#   the same with control = loess.control(surface = "direct"): fitted_direct,
#   ici_direct, to show how far the exact local fit is from R's default.
#   Any warnings R gives are recorded.
# and, under "variants", fitted values with a few other span and cell values.

out_file <- file.path("tests", "reference", "ici_reference.json")
if (!dir.exists(dirname(out_file))) stop("run from the repository root")

# ---------------------------------------------------------------- JSON writer
# Shortest of %.15g/%.16g/%.17g that reads back as the same double.
num_str <- function(v) {
  if (is.na(v) || !is.finite(v)) return("null")
  if (is.integer(v)) return(sprintf("%d", v))
  for (digits in 15:17) {
    s <- sprintf(paste0("%.", digits, "g"), v)
    if (as.numeric(s) == v) return(s)
  }
  stop("no round trip")
}
str_json <- function(s) paste0("\"", gsub("\"", "\\\\\"", gsub("\\\\", "\\\\\\\\", s)), "\"")
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 2)
  end <- strrep(" ", indent)
  if (is.list(x)) {
    parts <- vapply(x, to_json, "", indent = indent + 2)
    if (!is.null(names(x))) {
      parts <- paste0(vapply(names(x), str_json, ""), ": ", parts)
      return(paste0("{\n", pad, paste(parts, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    if (length(x) == 0) return("[]")
    return(paste0("[\n", pad, paste(parts, collapse = paste0(",\n", pad)), "\n", end, "]"))
  }
  if (is.character(x)) {
    if (inherits(x, "AsIs") || length(x) != 1) return(paste0("[", paste(vapply(x, str_json, ""), collapse = ", "), "]"))
    return(str_json(x))
  }
  if (inherits(x, "AsIs") || length(x) != 1) {
    return(paste0("[", paste(vapply(unclass(x), num_str, ""), collapse = ", "), "]"))
  }
  num_str(x)
}

# ------------------------------------------------------------------- cohorts
# Predicted risks are rounded (6 decimals, or coarser to force ties) so the
# JSON stays small; y is drawn from a miscalibrated "true" risk, so the
# calibration curve is not the identity.
make_y <- function(p, a, b) rbinom(length(p), 1, plogis(a + b * qlogis(p)))

cohorts <- list()

set.seed(101)  # 50 patients, distinct risks
p <- round(plogis(rnorm(50, -1, 1.1)), 6)
cohorts$n50 <- list(description = "50 patients, distinct risks (logit-normal)", p = p, y = make_y(p, 0.3, 0.7))

set.seed(202)  # 213 patients, risks to 2 decimals: many ties, also at split points
p <- round(rbeta(213, 2, 5), 2)
p[p == 0] <- 0.01
cohorts$n213_ties <- list(description = "213 patients, risks rounded to 2 decimals (tied risks)", p = p,
                          y = make_y(p, -0.2, 1.3))

set.seed(303)  # 1000 patients, skewed: most risks low, a long right tail
p <- round(rbeta(1000, 0.6, 6), 6)
p[p == 0] <- 1e-6
cohorts$n1000_skewed <- list(description = "1000 patients, skewed risks (beta(0.6, 6))", p = p,
                             y = make_y(p, -0.4, 0.8))

set.seed(404)  # 400 patients, 8 distinct risks (three binary predictors)
x1 <- rbinom(400, 1, 0.35); x2 <- rbinom(400, 1, 0.5); x3 <- rbinom(400, 1, 0.2)
p <- round(plogis(-2 + 0.9 * x1 + 0.6 * x2 + 1.2 * x3), 6)
cohorts$n400_eight_risks <- list(description = "400 patients, 8 distinct risks", p = p, y = make_y(p, 0.2, 1.1))

set.seed(505)  # 20 patients: fc = 3, a deep tree
p <- round(plogis(rnorm(20, -0.5, 1)), 6)
cohorts$n20 <- list(description = "20 patients, distinct risks (deep k-d tree)", p = p, y = make_y(p, 0, 1))

set.seed(606)  # 2000 patients, risks to 3 decimals
p <- round(plogis(rnorm(2000, -1.5, 0.9)), 3)
p[p == 0] <- 0.001
cohorts$n2000_ties <- list(description = "2000 patients, risks rounded to 3 decimals", p = p, y = make_y(p, 0.1, 0.9))

set.seed(707)  # 120 patients, 70 % at one low risk: some local fits see < 3 distinct risks
p <- rep(c(0.1542, 0.2914, 0.4276, 0.4745, 0.5337, 0.5468, 0.6558, 0.9396, 0.9919),
         c(84, 5, 11, 1, 14, 1, 1, 2, 1))
cohorts$n120_dominant_risk <- list(
  description = "120 patients, 84 at one risk: rank-deficient local fits (R's pseudoinverse)",
  p = p, y = make_y(p, 0, 1))

# ----------------------------------------------------------------- reference
fit_loess <- function(p, y, control, span = 0.75) {
  warnings <- character()
  lo <- withCallingHandlers(
    loess(y ~ p, span = span, control = control),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(lo = lo, warnings = warnings)
}

per_unique <- function(p, fitted) {
  ux <- sort(unique(p))
  group <- match(p, ux)
  spread <- vapply(seq_along(ux), function(k) diff(range(fitted[group == k])), 0)
  if (max(spread) > 0) stop("tied p got different fitted values")
  list(x = ux, fitted = fitted[match(ux, p)])
}

analyse <- function(cohort) {
  p <- cohort$p
  y <- cohort$y
  interp <- fit_loess(p, y, loess.control())
  lo <- interp$lo
  stopifnot(lo$pars$surface == "interpolate", lo$pars$span == 0.75, lo$pars$degree == 2,
            lo$pars$family == "gaussian", lo$pars$cell == 0.2)
  fitted_i <- unname(fitted(lo))
  kd <- lo$kd
  nv <- kd$parameter[["nv"]]
  # Vertices in creation order: the two ends of the bounding box, then the
  # split values of the split cells (a != 0) in cell order.
  vert <- c(kd$vert, kd$xi[kd$a != 0])
  stopifnot(length(vert) == nv)
  vval <- matrix(kd$vval, nrow = 2)
  o <- order(vert)
  direct <- fit_loess(p, y, loess.control(surface = "direct"))
  fitted_d <- unname(fitted(direct$lo))
  ui <- per_unique(p, fitted_i)
  list(
    description = cohort$description,
    n = length(p),
    p = I(p),
    y = I(as.integer(y)),
    x = I(ui$x),
    fitted = I(ui$fitted),
    ici = mean(abs(p - fitted_i)),
    vertices = I(vert[o]),
    vertex_value = I(vval[1, o]),
    vertex_slope = I(vval[2, o]),
    warnings = I(interp$warnings),
    fitted_direct = I(vapply(ui$x, function(v) mean(fitted_d[p == v]), 0)),
    ici_direct = mean(abs(p - fitted_d)),
    warnings_direct = I(direct$warnings)
  )
}

# Other span and cell (not used by the ICI): the fitted values per distinct p.
# A tiny cell makes fc = 0, so the tree is limited by its memory (nvmax = max(200, n)).
variant <- function(name, span, cell) {
  p <- cohorts[[name]]$p
  y <- cohorts[[name]]$y
  fit <- fit_loess(p, y, loess.control(cell = cell), span = span)
  c(list(cohort = name, span = span, cell = cell, n_vertices = fit$lo$kd$parameter[["nv"]]),
    lapply(per_unique(p, unname(fitted(fit$lo))), I), list(warnings = I(fit$warnings)))
}

doc <- list(
  generated_by = "Rscript tests/reference/make_ici_reference.R",
  r_version = R.version.string,
  call = "loess(y ~ p) (defaults); ici = mean(abs(p - fitted)); direct: loess.control(surface = \"direct\")",
  cohorts = lapply(cohorts, analyse),
  variants = list(
    variant("n213_ties", 0.5, 0.1),
    variant("n1000_skewed", 0.3, 0.2),
    variant("n2000_ties", 1.2, 0.5),
    variant("n50", 0.9, 0.05),
    variant("n213_ties", 0.75, 0.005),
    variant("n1000_skewed", 0.75, 0.001)
  )
)
writeLines(to_json(doc), out_file)
cat("wrote", out_file, "\n")
