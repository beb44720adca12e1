# Timed glmnet multinomial fits for benchmarks/glmnet_multinomial_compare.py.
#
#   Rscript benchmarks/glmnet_multinomial_compare.R DATA_DIR OUT_DIR TYPE THRESH
#
# DATA_DIR holds the design as a 0-based triplet (rows.i32, cols.i32, vals.f64), the class
# of each row (y.i32, 0-based) and dims.txt (rows, columns). One glmnet path (nlambda = 5,
# lambda.min.ratio = 0.1, standardize = FALSE) is timed with system.time around glmnet()
# alone; its lambdas, intercepts (K x n_lambda, column-major) and dense coefficients (per class
# p x n_lambda, column-major)
# are written to OUT_DIR.
suppressPackageStartupMessages({
  library(glmnet)
  library(Matrix)
})
args <- commandArgs(trailingOnly = TRUE)
dd <- args[1]
od <- args[2]
type <- args[3]
thresh <- as.numeric(args[4])
dims <- scan(file.path(dd, "dims.txt"), quiet = TRUE)
nnz <- file.size(file.path(dd, "rows.i32")) / 4
readv <- function(f, what, size, n) readBin(file.path(dd, f), what = what, size = size, n = n)
X <- sparseMatrix(i = readv("rows.i32", "integer", 4, nnz), j = readv("cols.i32", "integer", 4, nnz),
                  x = readv("vals.f64", "double", 8, nnz), dims = dims, index1 = FALSE)
y <- factor(readv("y.i32", "integer", 4, dims[1]))
invisible(gc())
t <- system.time(fit <- glmnet(X, y, family = "multinomial", type.multinomial = type,
                               alpha = 1, nlambda = 5, lambda.min.ratio = 0.1,
                               standardize = FALSE, thresh = thresh))[["elapsed"]]
writeBin(as.double(fit$lambda), file.path(od, "lambda.f64"))
writeBin(as.double(as.matrix(fit$a0)), file.path(od, "a0.f64"))
for (k in seq_along(fit$beta)) {
  writeBin(as.double(as.matrix(fit$beta[[k]])), file.path(od, sprintf("beta%d.f64", k)))
}
cat(sprintf("glmnet %s thresh=%g: %.2f s, %d lambdas, %d passes (%s)\n", type, thresh, t,
            length(fit$lambda), fit$npasses, as.character(packageVersion("glmnet"))))
writeLines(format(t, digits = 10), file.path(od, "seconds.txt"))
