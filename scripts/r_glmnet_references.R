# Reference fits from R's glmnet, for tests/test_glmnet_reference.py.
#
#   Rscript scripts/r_glmnet_references.R job.json out.json
#
# job.json (written by scripts/glmnet_references.py) holds a list of cases, each with the
# data (dense rows, or a sparse triplet), the binomial counts (n, k) or multinomial counts,
# and glmnet's options. Every fit runs to thresh = 1e-18 with the path-stopping rules of
# glmnet.control switched off (fdev = 0, devmax = 1), so that every requested lambda is
# fitted, and pmin lowered so that no fitted probability is clipped. A case with
# glmnet_stop = TRUE keeps glmnet's own path-stopping rules (fdev = 1e-5, devmax = 0.999);
# dfmax, pmax and relax are passed through when given, and the relaxed fits (glmnet's
# relax = TRUE: unpenalised refits on each active set) are returned as relaxed_a0 and
# relaxed_beta, with any warning glmnet gave.
suppressPackageStartupMessages({
  library(glmnet)
  library(jsonlite)
  library(Matrix)
})

args <- commandArgs(trailingOnly = TRUE)
job <- fromJSON(args[1], simplifyVector = TRUE, simplifyDataFrame = FALSE,
                simplifyMatrix = TRUE)
glmnet.control(fdev = 0, devmax = 1, pmin = 1e-30)

design <- function(case) {
  if (!is.null(case$sparse)) {
    s <- case$sparse
    return(sparseMatrix(i = s$row + 1, j = s$col + 1, x = s$value,
                        dims = c(s$n_rows, s$n_features)))
  }
  as.matrix(case$X)
}

run_case <- function(case) {
  x <- design(case)
  p <- ncol(x)
  opt <- list(x = x, family = case$family, alpha = case$alpha, thresh = 1e-18,
              maxit = 1e7, standardize = isTRUE(case$standardize),
              intercept = case$intercept)
  if (case$family == "binomial") {
    opt$y <- cbind(case$n - case$k, case$k)  # glmnet: the second column is the success
  } else {
    opt$y <- as.matrix(case$counts)
    if (!is.null(case$type_multinomial)) opt$type.multinomial <- case$type_multinomial
  }
  if (!is.null(case$weights)) opt$weights <- case$weights
  if (!is.null(case$offset)) opt$offset <- if (case$family == "binomial") case$offset else as.matrix(case$offset)
  if (!is.null(case$penalty_factor)) opt$penalty.factor <- case$penalty_factor
  if (!is.null(case$lower)) opt$lower.limits <- case$lower
  if (!is.null(case$upper)) opt$upper.limits <- case$upper
  if (!is.null(case$dfmax)) opt$dfmax <- case$dfmax
  if (!is.null(case$pmax)) opt$pmax <- case$pmax
  if (isTRUE(case$relax)) opt$relax <- TRUE
  # [[ ]], not $: case$lambda would partially match lambda_min_ratio
  if (!is.null(case[["lambda", exact = TRUE]])) {
    opt$lambda <- case[["lambda", exact = TRUE]]
  } else {
    opt$nlambda <- case$nlambda
    if (!is.null(case$lambda_min_ratio)) opt$lambda.min.ratio <- case$lambda_min_ratio
  }
  if (isTRUE(case$glmnet_stop)) glmnet.control(fdev = 1e-5, devmax = 0.999)
  warned <- character(0)
  fit <- withCallingHandlers(do.call(glmnet, opt), warning = function(w) {
    warned <<- c(warned, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  glmnet.control(fdev = 0, devmax = 1)
  out <- list(name = case$name, lambda = fit$lambda, dev_ratio = fit$dev.ratio,
              nulldev = fit$nulldev, warnings = warned)
  if (isTRUE(case$relax)) {
    out$relaxed_a0 <- unname(fit$relaxed$a0)
    out$relaxed_beta <- unname(as.matrix(t(fit$relaxed$beta)))
    out$relaxed_dev_ratio <- fit$relaxed$dev.ratio
    out$relaxed_lambda <- fit$relaxed$lambda
  }
  if (case$family == "binomial") {
    out$a0 <- unname(fit$a0)
    out$beta <- unname(as.matrix(t(fit$beta)))  # n_lambda x p
  } else {
    out$a0 <- unname(as.matrix(t(fit$a0)))  # n_lambda x K
    out$beta <- lapply(fit$beta, function(b) unname(as.matrix(t(b))))  # K of n_lambda x p
  }
  out
}

res <- lapply(job$cases, run_case)
meta <- list(R = R.version.string, glmnet = as.character(packageVersion("glmnet")))
writeLines(toJSON(list(meta = meta, results = res), digits = NA, auto_unbox = TRUE),
           args[2])
