# R reference values for the bootstrap at the edges (tests/stats/test_bootstrap_against_rms.py).
#
# Run from the repository root:
#     Rscript tests/reference/make_bootstrap_reference.R
# It writes tests/reference/few-events-cohort.csv and sparse-events-cohort.csv
# (150 patients, 10 events each, made here with fixed seeds) and
# tests/reference/bootstrap_reference.json: for those cohorts and for
# model_artifacts/rnet-demo-cohort.csv, rms::validate(B = 1000)
# and rms::calibrate(B = 1000) repeated over SEEDS seeds, so that the tests can
# compare one Python run with the seed-to-seed spread of rms.  Deterministic:
# running it again gives the same files.  Takes a few minutes.

suppressPackageStartupMessages(library(rms))
source(file.path("tests", "reference", "json_writer.R"))

out_dir <- file.path("tests", "reference")
few_csv <- file.path(out_dir, "few-events-cohort.csv")
sparse_csv <- file.path(out_dir, "sparse-events-cohort.csv")
demo_csv <- file.path("model_artifacts", "rnet-demo-cohort.csv")
json_out <- file.path(out_dir, "bootstrap_reference.json")
SEEDS <- 1:10
B <- 1000

# ------------------------------------------------------- the few-events cohorts
# Shaped like the study's predictors; the first seed from 1 whose outcome has
# exactly 10 events and whose full-data fit converges without separation.
# "sparse": surface depression in 12 % with exactly 1 event among the
# depressed, so that about a third of resamples are separated (that event
# not drawn: no event among the depressed patients) and
# the corrected slope is far below 1: the case where dropping separated
# replicates understates optimism.
make_few_events <- function(prefix, depression, beta, depressed_events = NA) {
  for (seed in 1:5000) {
    set.seed(seed)
    n <- 150
    d <- data.frame(
      patient_id = sprintf("%s-%03d", prefix, seq_len(n)),
      surface_depression = rbinom(n, 1, depression),
      ki67_percent = round(rlnorm(n, 0.4, 0.8), 1),
      cga_positive = rbinom(n, 1, 0.6)
    )
    lp <- beta[1] + beta[2] * d$surface_depression + beta[3] * d$ki67_percent + beta[4] * d$cga_positive
    d$non_curative_resection <- rbinom(n, 1, plogis(lp))
    if (sum(d$non_curative_resection) != 10) next
    if (!is.na(depressed_events) &&
        sum(d$non_curative_resection[d$surface_depression == 1]) != depressed_events) next
    f <- tryCatch(lrm(non_curative_resection ~ surface_depression + ki67_percent + cga_positive, data = d),
                  error = function(e) NULL)
    if (is.null(f) || f$fail) next
    cells <- table(d$surface_depression, d$non_curative_resection)
    if (any(cells == 0) || any(table(d$cga_positive, d$non_curative_resection) == 0)) next
    attr(d, "seed") <- seed
    return(d)
  }
  stop("no seed gave 10 events")
}
few <- make_few_events("FEW", 0.25, c(-3.6, 1.2, 0.25, 0.7))
write.csv(few, few_csv, row.names = FALSE, quote = FALSE)
sparse <- make_few_events("SPARSE", 0.12, c(-3.0, 0.6, 0.05, 0.3), depressed_events = 1)
write.csv(sparse, sparse_csv, row.names = FALSE, quote = FALSE)

summarise <- function(csv) {
  d <- read.csv(csv, stringsAsFactors = FALSE)
  fit <- lrm(non_curative_resection ~ surface_depression + ki67_percent + cga_positive, data = d,
             x = TRUE, y = TRUE)
  runs <- lapply(SEEDS, function(seed) {
    set.seed(seed)
    v <- validate(fit, B = B, method = "boot")
    set.seed(1000 + seed)
    cal <- suppressWarnings(calibrate(fit, B = B, method = "boot"))
    list(
      seed = seed,
      replicates_used = as.integer(v["Dxy", "n"]),
      auc_corrected = (v["Dxy", "index.corrected"] + 1) / 2,
      auc_apparent = (v["Dxy", "index.orig"] + 1) / 2,
      slope_corrected = v["Slope", "index.corrected"],
      intercept_corrected = v["Intercept", "index.corrected"],
      brier_corrected = v["B", "index.corrected"],
      curve_predicted = I(unname(cal[, "predy"])),
      curve_apparent = I(unname(cal[, "calibrated.orig"])),
      curve_corrected = I(unname(cal[, "calibrated.corrected"]))
    )
  })
  list(file = csv, md5 = unname(tools::md5sum(csv)), n = nrow(d), events = as.integer(sum(d$non_curative_resection)),
       coefficients = as.list(coef(fit)), runs = runs)
}

doc <- list(
  generated_by = "tests/reference/make_bootstrap_reference.R",
  versions = list(R = R.version.string, rms = as.character(packageVersion("rms"))),
  B = as.integer(B),
  few_events_seed = attr(few, "seed"),
  few_events = summarise(few_csv),
  sparse_events_seed = attr(sparse, "seed"),
  sparse_events = summarise(sparse_csv),
  demo = summarise(demo_csv)
)
writeLines(to_json(doc), json_out)
cat("wrote", json_out, "\n")
