# Reference cross-validation of the relaxed lasso from R's cv.glmnet(relax = TRUE), for
# tests/test_cv_relax.py.
#
#   Rscript scripts/r_glmnet_cv_relax.R job.json out.json
#
# job.json (written by scripts/glmnet_cv_relax_references.py) holds a list of cases, each
# with dense rows X, binomial counts (n, k), glmnet's lambda sequence, the fold of every row
# (foldid, 1-based), gamma and type.measure. Every fit (the penalised paths and the
# unpenalised refits of relax.glmnet) runs to thresh = 1e-18 with glmnet.control's path
# stops off and pmin lowered, so that no fitted probability is clipped. Returned per case:
# the cvm and cvsd curve of every gamma (relaxed$statlist), the lasso curve, and glmnet's
# (lambda, gamma) choices by the min and the one-standard-error rules.
suppressPackageStartupMessages({
  library(glmnet)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
job <- fromJSON(args[1], simplifyVector = TRUE, simplifyDataFrame = FALSE,
                simplifyMatrix = TRUE)
glmnet.control(fdev = 0, devmax = 1, pmin = 1e-30)

run_case <- function(case) {
  x <- as.matrix(case$X)
  y <- cbind(case$n - case$k, case$k)  # glmnet: the second column is the success
  fit <- cv.glmnet(x, y, family = "binomial", lambda = case[["lambda", exact = TRUE]],
                   foldid = case$foldid, relax = TRUE, gamma = case$gamma,
                   type.measure = case$measure, alpha = case$alpha, standardize = FALSE,
                   thresh = 1e-18, maxit = 1e7)
  stats <- fit$relaxed$statlist
  list(name = case$name,
       lambda = fit$lambda,
       gamma = fit$relaxed$gamma,
       cvm = unname(lapply(stats, function(s) s$cvm)),
       cvsd = unname(lapply(stats, function(s) s$cvsd)),
       lasso_cvm = fit$cvm, lasso_cvsd = fit$cvsd,
       lambda_min = fit$relaxed$lambda.min, gamma_min = fit$relaxed$gamma.min,
       lambda_1se = fit$relaxed$lambda.1se, gamma_1se = fit$relaxed$gamma.1se)
}

res <- lapply(job$cases, run_case)
meta <- list(R = R.version.string, glmnet = as.character(packageVersion("glmnet")))
writeLines(toJSON(list(meta = meta, results = res), digits = NA, auto_unbox = TRUE),
           args[2])
