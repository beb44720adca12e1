# Reference results of R's glm, sandwich, MASS, car and brglm2 for fastlogit.glm's tests.
#
#   Rscript scripts/r_glm_references.R STAR98.csv OUT.json
#
# STAR98.csv is statsmodels' star98 table (written by scripts/make_glm_fixtures.py, which
# also runs this script); every other data set comes from R and is written into the
# JSON with the results, so that the tests can run without R.
# Fits use tight convergence (epsilon 1e-14) so that the references are the exact
# maximum-likelihood (or bias-reduced) estimates, not IRLS's stopping point.
suppressPackageStartupMessages({
  library(sandwich); library(MASS); library(lmtest); library(car); library(brglm2)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
star98 <- read.csv(args[1])
out_path <- args[2]
ctl <- glm.control(epsilon = 1e-14, maxit = 100)

num <- function(x) unname(as.numeric(x))
fit_info <- function(m) {
  s <- summary(m)
  co <- s$coefficients
  list(names = names(coef(m)), coef = num(coef(m)),
       se = num(sqrt(diag(vcov(m, complete = TRUE)))),
       stat = num(coef(m) / sqrt(diag(vcov(m, complete = TRUE)))),
       p = num(if (ncol(co) == 4) {
         pv <- rep(NA, length(coef(m))); pv[!is.na(coef(m))] <- co[, 4]; pv } else NA),
       deviance = m$deviance, null_deviance = m$null.deviance,
       df_residual = m$df.residual, df_null = m$df.null,
       aic = if (is.na(m$aic)) NULL else m$aic,
       loglik = if (m$family$family == "binomial") as.numeric(logLik(m)) else NULL,
       dispersion = s$dispersion, nobs = nobs(m),
       pearson = sum(residuals(m, type = "pearson")^2),
       fitted = num(fitted(m)), resid_deviance = num(residuals(m, type = "deviance")),
       resid_pearson = num(residuals(m, type = "pearson")),
       hat = if (all(m$prior.weights > 0)) num(hatvalues(m)) else NULL,
       converged = m$converged)
}
robust <- function(m, cluster = NULL, types = c("HC0", "HC1", "HC2", "HC3")) {
  r <- list()
  for (t in types) r[[t]] <- num(sqrt(diag(vcovHC(m, type = t))))
  if (!is.null(cluster)) r[["cluster"]] <- num(sqrt(diag(vcovCL(m, cluster = cluster))))
  r
}
anova_table <- function(a) {
  list(resid_df = num(a[["Resid. Df"]]), resid_dev = num(a[["Resid. Dev"]]),
       df = num(a[["Df"]]), deviance = num(a[["Deviance"]]),
       stat = if (!is.null(a[["F"]])) num(a[["F"]]) else NULL,
       p = num(a[[ncol(a)]]))
}
seq_table <- function(a) {
  list(terms = rownames(a), df = num(a[["Df"]]), deviance = num(a[["Deviance"]]),
       resid_df = num(a[["Resid. Df"]]), resid_dev = num(a[["Resid. Dev"]]),
       stat = if (!is.null(a[["F"]])) num(a[["F"]]) else NULL, p = num(a[[ncol(a)]]))
}
drop1_table <- function(d) {
  list(terms = rownames(d), df = num(d[["Df"]]), deviance = num(d[["Deviance"]]),
       aic = if (!is.null(d[["AIC"]])) num(d[["AIC"]]) else NULL,
       stat = num(d[[ncol(d) - 1]]), p = num(d[[ncol(d)]]))
}
# exact profile-likelihood limits: the root of the signed root deviance at -+ z, each
# deviance from a glm with the parameter fixed through the offset
exact_profile <- function(m, level = 0.95) {
  X <- model.matrix(m); y <- m$y; w <- m$prior.weights; o <- m$offset
  if (is.null(o)) o <- rep(0, length(y))
  z <- qnorm(1 - (1 - level) / 2); d0 <- m$deviance
  disp <- summary(m)$dispersion
  b <- coef(m); se <- sqrt(diag(vcov(m)))
  res <- matrix(NA, length(b), 2)
  for (j in seq_along(b)) {
    f <- function(t) {
      mm <- glm.fit(X[, -j, drop = FALSE], y, weights = w, offset = o + t * X[, j],
                    family = m$family, control = ctl)
      (mm$deviance - d0) / disp - z^2
    }
    lo <- b[j] - se[j]; while (f(lo) < 0) lo <- lo - se[j]
    hi <- b[j] + se[j]; while (f(hi) < 0) hi <- hi + se[j]
    res[j, 1] <- uniroot(f, c(lo, b[j]), tol = 1e-13)$root
    res[j, 2] <- uniroot(f, c(b[j], hi), tol = 1e-13)$root
  }
  list(lower = res[, 1], upper = res[, 2])
}
frame_json <- function(d) lapply(d, function(col) if (is.factor(col)) as.character(col) else col)
levels_json <- function(d) Filter(Negate(is.null),
                                  lapply(d, function(col) if (is.factor(col)) levels(col)))

out <- list()

# -- esoph: unordered factors, interaction, offset ---------------------------------------
es <- esoph
for (v in c("agegp", "alcgp", "tobgp")) es[[v]] <- factor(as.character(es[[v]]),
                                                        levels = levels(es[[v]]))
es$agenum <- as.integer(es$agegp)
es$ncases[5] <- NA  # one missing value: na.omit drops the row
m1 <- glm(cbind(ncases, ncontrols) ~ agegp + alcgp + tobgp, binomial, es, control = ctl)
m2 <- glm(cbind(ncases, ncontrols) ~ agegp + alcgp * tobgp, binomial, es, control = ctl)
m3 <- glm(cbind(ncases, ncontrols) ~ alcgp + tobgp + offset(0.3 * agenum), binomial, es,
          control = ctl)
m4 <- glm(cbind(ncases, ncontrols) ~ agegp + alcgp, binomial, es, control = ctl)
new <- data.frame(agegp = c("25-34", "55-64", "75+"), alcgp = c("0-39g/day", "80-119", "120+"),
                  tobgp = c("0-9g/day", "20-29", "30+"))
p_link <- predict(m1, new, type = "link", se.fit = TRUE)
p_resp <- predict(m1, new, type = "response", se.fit = TRUE)
lh <- linearHypothesis(m1, c("alcgp40-79 = alcgp80-119", "tobgp30+ = 0"))
lh_f <- linearHypothesis(m1, c("alcgp40-79 = alcgp80-119", "tobgp30+ = 0"), test = "F")
out$esoph <- list(
  data = frame_json(es), levels = levels_json(es),
  main = c(fit_info(m1), list(robust = robust(m1, ~agegp), n_dropped = length(m1$na.action))),
  interaction = fit_info(m2), offset = fit_info(m3),
  anova = anova_table(anova(m1, m2, test = "Chisq")),
  anova3 = anova_table(anova(m4, m1, m2, test = "Chisq")),
  anova_sequential = seq_table(anova(m2, test = "Chisq")),
  drop1 = drop1_table(drop1(m1, test = "Chisq")),
  drop1_interaction = drop1_table(drop1(m2, test = "Chisq")),
  wald = list(chisq = lh$Chisq[2], df = lh$Df[2], p = lh[["Pr(>Chisq)"]][2],
              F = lh_f$F[2], p_F = lh_f[["Pr(>F)"]][2]),
  newdata = new,
  predict_link = list(fit = num(p_link$fit), se = num(p_link$se.fit)),
  predict_response = list(fit = num(p_resp$fit), se = num(p_resp$se.fit)),
  profile_exact = exact_profile(m4),
  profile_mass = list(lower = num(confint(m4)[, 1]), upper = num(confint(m4)[, 2])))

# -- UCBAdmissions: counts, proportions with weights, quasibinomial, F tests ---------------
ucb <- as.data.frame(UCBAdmissions)
wide <- reshape(ucb, idvar = c("Gender", "Dept"), timevar = "Admit", direction = "wide")
names(wide) <- c("Gender", "Dept", "Admitted", "Rejected")
rownames(wide) <- NULL
wide$total <- wide$Admitted + wide$Rejected
u1 <- glm(cbind(Admitted, Rejected) ~ Gender + Dept, binomial, wide, control = ctl)
u2 <- glm(Admitted / total ~ Gender + Dept, binomial, wide, weights = total, control = ctl)
q0 <- glm(cbind(Admitted, Rejected) ~ Dept, quasibinomial, wide, control = ctl)
q1 <- glm(cbind(Admitted, Rejected) ~ Gender + Dept, quasibinomial, wide, control = ctl)
out$ucb <- list(
  data = frame_json(wide), levels = levels_json(wide),
  counts = c(fit_info(u1), list(robust = robust(u1, ~Dept))), proportions = fit_info(u2),
  quasi = c(fit_info(q1), list(robust = robust(q1))),
  anova_f = anova_table(anova(q0, q1, test = "F")),
  anova_sequential_f = seq_table(anova(q1, test = "F")),
  drop1_f = drop1_table(drop1(q1, test = "F")),
  profile_exact = exact_profile(q1))

# -- Titanic: zero-trial cells; the long form with frequency weights ---------------------
ti <- as.data.frame(Titanic)
tw <- reshape(ti, idvar = c("Class", "Sex", "Age"), timevar = "Survived", direction = "wide")
names(tw) <- c("Class", "Sex", "Age", "No", "Yes")
rownames(tw) <- NULL
t1 <- glm(cbind(Yes, No) ~ Class + Sex + Age, binomial, tw, control = ctl)
# sandwich counts the zero-trial cells in its n (shrinking the covariance by (14/16)^2);
# fastlogit leaves them out, as if they were not in the data: the reference drops them
t1_live <- update(t1, data = subset(tw, Yes + No > 0))
t2 <- glm(Survived ~ Class + Sex * Age, binomial, ti, weights = Freq, control = ctl)
out$titanic <- list(wide = frame_json(tw), long = frame_json(ti), levels = levels_json(ti),
                    counts = c(fit_info(t1), list(robust = robust(t1_live))),
                    weighted = fit_info(t2))

# -- cbpp: clustered SEs by herd, quasibinomial, profile intervals, predictions ---------------
cb <- lme4::cbpp
c1 <- glm(cbind(incidence, size - incidence) ~ period, binomial, cb, control = ctl)
cq <- glm(cbind(incidence, size - incidence) ~ period, quasibinomial, cb, control = ctl)
pc <- predict(c1, data.frame(period = factor(c("1", "4"), levels = levels(cb$period))),
              type = "response", se.fit = TRUE)
out$cbpp <- list(
  data = frame_json(cb), levels = levels_json(cb),
  main = c(fit_info(c1), list(robust = robust(c1, ~herd))),
  quasi = c(fit_info(cq), list(robust = robust(cq, ~herd))),
  profile_exact = exact_profile(c1),
  profile_mass = list(lower = num(confint(c1)[, 1]), upper = num(confint(c1)[, 2])),
  predict_response = list(fit = num(pc$fit), se = num(pc$se.fit)))

# -- star98 (statsmodels): overdispersed counts ----------------------------------------------
s1 <- glm(cbind(NABOVE, NBELOW) ~ LOWINC + PERASIAN + PERBLACK + PERHISP + PCTCHRT +
            PCTYRRND + PERMINTE * AVYRSEXP, binomial, star98, control = ctl)
s2 <- update(s1, family = quasibinomial)
out$star98 <- list(main = c(fit_info(s1), list(robust = robust(s1))),
                   quasi = fit_info(s2))

# -- aliasing: a column that is the sum of two others --------------------------------------------
set.seed(1)
al <- data.frame(x1 = rnorm(60), x2 = rnorm(60), g = factor(sample(c("a", "b", "c"), 60, TRUE)))
al$x3 <- al$x1 + 2 * al$x2
al$y <- as.integer(runif(60) < plogis(0.5 * al$x1 - al$x2))
a1 <- glm(y ~ x1 + x2 + x3 + g, binomial, al, control = glm.control(epsilon = 1e-12, maxit = 100))
out$aliased <- list(data = frame_json(al), levels = levels_json(al), main = fit_info(a1))

# -- Firth (brglm2, AS_mean): separated data and the endometrial study ------------------------------
data(endometrial, package = "brglm2")
bctl <- brglmControl(epsilon = 1e-13, maxit = 1000, type = "AS_mean")
f1 <- glm(HG ~ NV + PI + EH, binomial, endometrial, method = "brglmFit", control = bctl)
sep <- data.frame(x = c(1, 2, 3, 4, 5, 6, 7, 8), k = c(0, 0, 0, 1, 2, 4, 4, 4),
                  n = c(4, 4, 4, 4, 4, 4, 4, 4))
sep$k[4] <- 0  # complete separation between x <= 4 and x >= 5
f2 <- glm(cbind(k, n - k) ~ x, binomial, sep, method = "brglmFit", control = bctl)
firth_info <- function(m) list(coef = num(coef(m)), se = num(sqrt(diag(vcov(m)))),
                               deviance = m$deviance)
out$firth <- list(endometrial = frame_json(endometrial), endometrial_fit = firth_info(f1),
                  separated = frame_json(sep), separated_fit = firth_info(f2))

out$versions <- list(R = R.version.string, sandwich = as.character(packageVersion("sandwich")),
                     MASS = as.character(packageVersion("MASS")),
                     car = as.character(packageVersion("car")),
                     brglm2 = as.character(packageVersion("brglm2")))
write_json(out, out_path, digits = NA, auto_unbox = TRUE, na = "null", null = "null")
