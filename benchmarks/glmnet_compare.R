# Timed glmnet fits for benchmarks/glmnet_compare.py (which writes the data and the job).
#
#   Rscript benchmarks/glmnet_compare.R DATA_DIR JOB_JSON OUT_DIR
#
# DATA_DIR holds the design as a 0-based triplet (rows.i32, cols.i32, and vals.f64 unless
# every stored value is 1), n.f64, k.f64 and dims.txt (rows, columns). Each case of the job
# is fitted once, timed with system.time around glmnet() alone; its lambdas, intercepts and
# coefficients (a 1-based triplet) are written to OUT_DIR/<name>.*.
suppressPackageStartupMessages({
  library(glmnet)
  library(Matrix)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
dd <- args[1]
job <- fromJSON(args[2], simplifyVector = TRUE, simplifyDataFrame = FALSE)
od <- args[3]
dims <- scan(file.path(dd, "dims.txt"), quiet = TRUE)
nnz <- file.size(file.path(dd, "rows.i32")) / 4
readv <- function(f, what, size, n) readBin(file.path(dd, f), what = what, size = size, n = n)
i <- readv("rows.i32", "integer", 4, nnz)
j <- readv("cols.i32", "integer", 4, nnz)
x <- if (file.exists(file.path(dd, "vals.f64"))) readv("vals.f64", "double", 8, nnz) else rep(1, nnz)
X <- sparseMatrix(i = i, j = j, x = x, dims = dims, index1 = FALSE)
n <- readv("n.f64", "double", 8, dims[1])
k <- readv("k.f64", "double", 8, dims[1])
y <- cbind(n - k, k)
rm(i, j, x)
invisible(gc())
timings <- list()
for (case in job$cases) {
  opt <- list(x = X, y = y, family = "binomial", alpha = case$alpha, thresh = case$thresh,
              standardize = FALSE)
  if (!is.null(case[["lambda", exact = TRUE]])) {
    opt$lambda <- case[["lambda", exact = TRUE]]
  } else {
    opt$nlambda <- case$nlambda
    if (!is.null(case$lambda_min_ratio)) opt$lambda.min.ratio <- case$lambda_min_ratio
  }
  invisible(gc())
  t <- system.time(fit <- do.call(glmnet, opt))[["elapsed"]]
  b <- summary(fit$beta)
  writeBin(as.double(fit$lambda), file.path(od, paste0(case$name, ".lambda.f64")))
  writeBin(as.double(fit$a0), file.path(od, paste0(case$name, ".a0.f64")))
  writeBin(as.integer(b$i), file.path(od, paste0(case$name, ".bi.i32")))
  writeBin(as.integer(b$j), file.path(od, paste0(case$name, ".bj.i32")))
  writeBin(as.double(b$x), file.path(od, paste0(case$name, ".bx.f64")))
  timings[[case$name]] <- list(seconds = t, npasses = fit$npasses, n_lambda = length(fit$lambda))
  cat(sprintf("%s: %.2f s, %d lambdas, %d passes\n", case$name, t, length(fit$lambda),
              fit$npasses))
}
meta <- list(R = R.version.string, glmnet = as.character(packageVersion("glmnet")))
writeLines(toJSON(list(meta = meta, timings = timings), auto_unbox = TRUE, digits = NA),
           file.path(od, "timings.json"))
