# R reference values for `rnet samplesize` (tests/stats/test_samplesize_against_r.py).
#
# Run from the repository root:
#     Rscript tests/reference/make_samplesize_reference.R
# It needs pROC and the R sources of the CRAN packages pmsampsize 1.1.3 and
# pmvalsampsize 0.1.0 (not installed: no network here).  They are read from git
# mirrors of github.com/cran/pmsampsize and github.com/cran/pmvalsampsize, whose
# git directories are given by PMSAMPSIZE_GIT and PMVALSAMPSIZE_GIT (defaults:
# /work/.mirror/cran+pmsampsize/repo, /work/.mirror/cran+pmvalsampsize/repo),
# and sourced as they are.  Deterministic (every simulation is seeded); about
# two minutes.  Writes tests/reference/samplesize_reference.json.
#
# What it computes:
# 1. cstat2rsq (pmsampsize's C -> Cox-Snell R2, a simulation of 1e6 patients)
#    for four (C, prevalence) pairs, with pmsampsize's seed 123456 and four more
#    seeds (its Monte Carlo spread), and pmsampsize(type = "b", cstatistic = C)
#    with its default seed: the whole results table.
# 2. pmvalsampsize(type = "b") for the paper's worked example (prevalence 0.018,
#    C 0.8, LP normal(-5, 2.5), O/E CI width 1, threshold 0.08, simobs 1e6), and
#    for a second case with sensitivity and specificity given.  Its criterion 2
#    is a simulation; the exact integral of its formula is computed here too
#    with integrate().
# 3. The shipped demonstration model: the linear predictor refitted with glm()
#    on model_artifacts/rnet-demo-cohort.csv, pmvalsampsize's criterion 2
#    formula (its lines, over these 213 values instead of simulated ones),
#    sensitivity and specificity at risk threshold 0.3 of a calibrated model
#    (E[p 1(p >= t)]/E[p], E[(1-p) 1(p < t)]/E[1-p], rounded to 2 decimals as
#    pmvalsampsize does), and pmvalsampsize itself for criteria 1, 3 and 4
#    with that prevalence, the artifact's optimism-corrected AUC and those
#    sensitivity/specificity.
out_file <- file.path("tests", "reference", "samplesize_reference.json")
if (!dir.exists(dirname(out_file))) stop("run from the repository root")
source(file.path("tests", "reference", "json_writer.R"))
suppressMessages(library(pROC))

source_from_git <- function(git_dir, files) {
  for (f in files) {
    text <- system2("git", c(paste0("--git-dir=", git_dir), "show", paste0("HEAD:R/", f, ".R")), stdout = TRUE)
    eval(parse(text = gsub("\r", "", text, fixed = TRUE)), envir = globalenv())  # CRLF in some files
  }
}
source_from_git(Sys.getenv("PMSAMPSIZE_GIT", "/work/.mirror/cran+pmsampsize/repo"),
                c("cstat2rsq", "pmsampsize", "pmsampsize_bin", "pmsampsize_errorcheck"))
source_from_git(Sys.getenv("PMVALSAMPSIZE_GIT", "/work/.mirror/cran+pmvalsampsize/repo"),
                c("pmvalsampsize", "pmvalsampsize_bin", "pmvalsampsize_errorcheck"))

table_rows <- function(res) lapply(seq_len(nrow(res)), function(i) I(unname(res[i, ])))

development <- list()
for (case in list(c(0.89, 0.174, 24), c(0.81, 0.77, 10), c(0.75, 0.357, 3), c(0.7, 0.05, 8))) {
  seeds <- c(123456, 1, 2, 3, 4)
  r2 <- vapply(seeds, function(s) cstat2rsq(case[1], case[2], seed = s)$R2.coxsnell, 0)
  out <- pmsampsize(type = "b", cstatistic = case[1], prevalence = case[2], parameters = case[3])
  development[[length(development) + 1]] <- list(
    c_statistic = case[1], prevalence = case[2], parameters = as.integer(case[3]),
    seeds = I(seeds), r2_cox_snell_simulated = I(r2),
    pmsampsize_r2 = out$rsquared, pmsampsize_table = table_rows(out$results_table),
    pmsampsize_table_rows = I(rownames(out$results_table)),
    pmsampsize_table_columns = I(colnames(out$results_table))
  )
}

exact_n2_normal <- function(mean, sd, width) {
  f <- function(k) integrate(function(x) dnorm(x, mean, sd) * plogis(x) * (1 - plogis(x)) * x^k,
                             mean - 12 * sd, mean + 12 * sd, rel.tol = 1e-12)$value
  i00 <- f(0); i01 <- f(1); i11 <- f(2); se <- width / (2 * 1.96)
  list(i00 = i00, i01 = i01, i11 = i11, n2 = i00 / (se * se * (i00 * i11 - i01 * i01)))
}

paper <- suppressMessages(pmvalsampsize(type = "b", prevalence = 0.018, cstatistic = 0.8, lpnormal = c(-5, 2.5),
                                        oeciwidth = 1, threshold = 0.08))
given <- suppressMessages(pmvalsampsize(type = "b", prevalence = 0.1, cstatistic = 0.72, lpnormal = c(-2.5, 1),
                                        oeciwidth = 0.5, csciwidth = 0.3, cstatciwidth = 0.08, threshold = 0.15,
                                        sensitivity = 0.7, specificity = 0.6, nbciwidth = 0.3))
validation_case <- function(x, lp_mean, lp_sd, width) list(
  table = table_rows(x$results_table), rows = I(rownames(x$results_table)),
  se_oe = x$se_oe, se_cstat = x$se_cstat, se_st_nb = x$se_st_nb, sensitivity = x$sensitivity,
  specificity = x$specificity, standardised_nb = x$standardised_nb,
  criterion_2_exact = exact_n2_normal(lp_mean, lp_sd, width)
)

cohort_file <- file.path("model_artifacts", "rnet-demo-cohort.csv")
cohort <- read.csv(cohort_file)
fit <- glm(non_curative_resection ~ surface_depression + ki67_percent + cga_positive, binomial, data = cohort,
           control = glm.control(epsilon = 1e-14, maxit = 100))
LP <- unname(predict(fit)); P <- plogis(LP); prevalence <- mean(cohort$non_curative_resection)
# pmvalsampsize_bin's criterion 2, over these LP values:
beta0 <- 0; beta1 <- 1
Borenstein_00 <- exp(beta0 + (beta1*LP))/((1+ exp(beta0 + (beta1*LP)))^2)
Borenstein_01 <- LP*exp(beta0 + (beta1*LP))/((1+ exp(beta0 + (beta1*LP)))^2)
Borenstein_11 <- LP*LP*exp(beta0 + (beta1*LP))/((1+ exp(beta0 + (beta1*LP)))^2)
I_00 <- mean(Borenstein_00); I_01 <- mean(Borenstein_01); I_11 <- mean(Borenstein_11)
se_cslope <- 0.2/(2*1.96)
n2 <- ceiling(I_00/(se_cslope*se_cslope*((I_00*I_11)-(I_01*I_01))))
threshold <- 0.3
sens <- round(sum(P * (P >= threshold)) / sum(P), 2)
spec <- round(sum((1 - P) * (P < threshold)) / sum(1 - P), 2)
auc_corrected <- 0.74957632  # performance.auc_optimism_corrected of model_artifacts/rnet-demo-v1.json
demo_val <- suppressMessages(pmvalsampsize(type = "b", prevalence = prevalence, cstatistic = auc_corrected,
                                           lpnormal = c(mean(LP), sd(LP)), simobs = 1000, threshold = threshold,
                                           sensitivity = sens, specificity = spec))
demo <- list(
  cohort_md5 = unname(tools::md5sum(cohort_file)), prevalence = prevalence, lp_mean = mean(LP),
  lp_sd_population = sqrt(mean((LP - mean(LP))^2)), i00 = I_00, i01 = I_01, i11 = I_11, n2 = n2,
  threshold = threshold, sensitivity = sens, specificity = spec, c_statistic = auc_corrected,
  pmvalsampsize_table = table_rows(demo_val$results_table), rows = I(rownames(demo_val$results_table))
)

out <- list(
  versions = list(R = R.version.string, pmsampsize = "1.1.3 (CRAN source, sourced)",
                  pmvalsampsize = "0.1.0 (CRAN source, sourced)", pROC = as.character(packageVersion("pROC"))),
  development = development,
  validation = list(paper_example = validation_case(paper, -5, 2.5, 0.2),
                    given_accuracy = validation_case(given, -2.5, 1, 0.3)),
  demo_artifact = demo
)
writeLines(to_json(out), out_file)
