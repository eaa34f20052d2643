# Independent R reference values for the cohort report's group comparisons
# (tests/stats/test_compare_edges.py).
#
# Run from the repository root:
#     Rscript tests/reference/make_compare_reference.R
# It makes small samples and tables here (set.seed(20240221)), runs base R's
# wilcox.test (exact and normal-approximation branches, conf.int = TRUE),
# t.test (Welch) and fisher.test (2x2 and r x c, exact) on them, and writes
# the samples with every result to tests/reference/compare_reference.json
# (doubles with 17 significant digits, by json_writer.R). The Python tests
# only read the JSON.

out_dir <- file.path("tests", "reference")
json_out <- file.path(out_dir, "compare_reference.json")
if (!dir.exists(out_dir)) stop("run from the repository root: ", out_dir, " not found")
source(file.path(out_dir, "json_writer.R"))
num <- function(x) I(unname(as.numeric(x)))  # always an array

set.seed(20240221)

# ------------------------------------------------------------ Mann-Whitney
# Each case is (x, y); wilcox.test(x, y) tests the shift of x - y.  R takes the
# exact branch when both samples have fewer than 50 values and there are no
# ties in c(x, y), the normal approximation (continuity and tie corrected)
# otherwise.  The approximate branch finds the CI ends and the estimate with
# uniroot(tol = tol.root): stored with the default tol.root = 1e-4 and with
# 1e-10, so the step it converges to is known to ~1e-10.
wilcox_case <- function(name, x, y, why) {
  fit <- suppressWarnings(wilcox.test(x, y, conf.int = TRUE))
  tight <- suppressWarnings(wilcox.test(x, y, conf.int = TRUE, tol.root = 1e-10))
  diffs <- sort(outer(x, y, `-`))
  mn <- length(diffs)
  middle <- if (mn %% 2 == 0) diffs[c(mn / 2, mn / 2 + 1)] else diffs[c((mn + 1) / 2, (mn + 1) / 2)]
  list(
    name = name, why = why, x = num(x), y = num(y),
    exact = grepl("exact", fit$method), method = fit$method,
    statistic = unname(fit$statistic), p = fit$p.value,
    estimate = unname(fit$estimate), conf_int = num(fit$conf.int),
    estimate_tight = unname(tight$estimate), conf_int_tight = num(tight$conf.int),
    median_pairwise = median(diffs), middle_pair = num(middle)
  )
}
rounded <- function(v, digits) round(v, digits)
wilcox_cases <- list(
  wilcox_case("exact_8_6", rounded(rnorm(8, 10, 3), 3), rounded(rnorm(6, 8, 3), 3),
              "exact, small, no ties, mn even"),
  wilcox_case("exact_7_5", rounded(rlnorm(7, 1, 0.8), 4), rounded(rlnorm(5, 0.6, 0.8), 4),
              "exact, mn odd"),
  wilcox_case("exact_2_3", c(1.5, 4.25), c(0.5, 2.75, 3.5),
              "exact, so small that qwilcox(0.025) is 0: the CI is the whole range"),
  wilcox_case("exact_49_3", rounded(rnorm(49, 1, 1), 6), c(-0.3125, 0.71875, 2.4375),
              "exact at the size limit, very unequal groups"),
  wilcox_case("exact_30_40", rounded(rgamma(30, 2, 0.5), 5), rounded(rgamma(40, 2.5, 0.5), 5),
              "exact, moderate sizes"),
  wilcox_case("exact_equal_p1", c(1, 4, 5, 8), c(2, 3, 6, 7),
              "exact, W = mn/2, p = 1"),
  wilcox_case("approx_ties_12_9", as.numeric(c(3, 4, 4, 5, 6, 6, 6, 7, 9, 10, 12, 4)),
              as.numeric(c(2, 3, 3, 4, 5, 5, 6, 8, 3)),
              "normal approximation because of ties (whole days), small"),
  wilcox_case("approx_size_60_45", rounded(rnorm(60, 52, 11), 6), rounded(rnorm(45, 49, 11), 6),
              "normal approximation because a group has 50 or more, no ties, mn even"),
  wilcox_case("approx_size_51_49", rounded(rlnorm(51, 9.3, 0.25), 2), rounded(rlnorm(49, 9.1, 0.25), 2),
              "normal approximation, mn odd"),
  wilcox_case("approx_ties_large", round(rlnorm(150, 0.9, 0.8), 1), round(rlnorm(90, 0.7, 0.8), 1),
              "normal approximation, many ties (Ki-67 to one decimal)"),
  wilcox_case("approx_ties_tiny", c(1, 1, 2), c(2, 3, 3),
              "normal approximation, so small the CI ends are the extreme differences"),
  wilcox_case("approx_shifted_ties", as.numeric(c(20, 22, 22, 25, 30, 31, 31, 31, 40, 45)),
              as.numeric(c(5, 6, 6, 7, 8, 9, 9, 10)),
              "normal approximation, the groups do not overlap")
)

# ------------------------------------------------------------ Welch t-test
welch_case <- function(name, x, y) {
  fit <- t.test(x, y)
  list(name = name, x = num(x), y = num(y), statistic = unname(fit$statistic),
       df = unname(fit$parameter), p = fit$p.value, conf_int = num(fit$conf.int),
       estimate = unname(fit$estimate[1] - fit$estimate[2]))
}
welch_cases <- list(
  welch_case("age_like", rounded(rnorm(80, 51, 12), 0), rounded(rnorm(50, 49, 10), 0)),
  welch_case("unequal_variance", rounded(rnorm(12, 7, 1), 2), rounded(rnorm(30, 7.6, 3), 2)),
  welch_case("tiny", c(6.5, 7.25, 8), c(5.5, 9.75))
)

# ------------------------------------------------------------ Fisher / Freeman-Halton (exact)
fisher_case <- function(name, table) {
  m <- matrix(as.integer(unlist(table)), nrow = length(table), byrow = TRUE)
  fit <- fisher.test(m, workspace = 2e7)
  list(name = name, table = lapply(seq_len(nrow(m)), function(i) I(m[i, ])), p = fit$p.value)
}
fisher_cases <- list(
  fisher_case("2x2_rare", list(c(98, 2), c(56, 4))),
  fisher_case("2x2_small", list(c(3, 1), c(1, 3))),
  fisher_case("2x2_symmetric", list(c(5, 5), c(5, 5))),
  fisher_case("2x2_zero_cell", list(c(12, 0), c(7, 5))),
  fisher_case("2x3_methods", list(c(25, 4, 1), c(15, 3, 2))),
  fisher_case("2x4_methods", list(c(10, 118, 3, 2), c(15, 61, 2, 0))),
  fisher_case("2x3_grade", list(c(110, 22, 1), c(60, 17, 3))),
  fisher_case("3x3", list(c(3, 1, 0), c(1, 4, 2), c(0, 2, 5))),
  fisher_case("3x4", list(c(2, 0, 1, 3), c(1, 3, 0, 2), c(0, 1, 4, 1))),
  fisher_case("4x2", list(c(5, 1), c(3, 3), c(1, 4), c(0, 6)))
)

doc <- list(
  description = paste(
    "Base R wilcox.test(x, y, conf.int = TRUE) (default and tol.root = 1e-10), t.test(x, y) (Welch),",
    "fisher.test(table) (exact; FEXACT for r x c) on samples and tables made by",
    "tests/reference/make_compare_reference.R with set.seed(20240221)."
  ),
  versions = list(R = R.version.string),
  wilcox = wilcox_cases,
  welch = welch_cases,
  fisher = fisher_cases
)
writeLines(to_json(doc), json_out)
cat("wrote", json_out, "\n")
