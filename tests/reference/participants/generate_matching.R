# Reference values for effekt.participants' nearest-neighbour matching and its
# Abadie-Imbens standard error: R package Matching (Sekhon 2011, doi:10.18637/jss.v042.i07),
# Debian r-cran-matching, on the Dehejia-Wahba NSW sample that ships with it (`lalonde`, 445 rows).
# Run: Rscript generate_matching.R  (writes lalonde.csv and matching_reference.json)
suppressMessages(library(Matching))
data(lalonde)
write.csv(lalonde, "lalonde.csv", row.names = FALSE)
glm1 <- glm(treat ~ age + I(age^2) + educ + I(educ^2) + black + hisp + married + nodegr +
              re74 + I(re74^2) + re75 + I(re75^2) + u74 + u75, family = binomial, data = lalonde)
ps <- glm1$fitted
Y <- lalonde$re78
Tr <- lalonde$treat
X <- cbind(lalonde$age, lalonde$educ, lalonde$re74, lalonde$re75)
cases <- list(
  ps_m1 = Match(Y = Y, Tr = Tr, X = ps, M = 1, estimand = "ATT", Var.calc = 1),
  ps_m3 = Match(Y = Y, Tr = Tr, X = ps, M = 3, estimand = "ATT", Var.calc = 1),
  ps_m1_caliper = Match(Y = Y, Tr = Tr, X = ps, M = 1, estimand = "ATT", caliper = 0.1, Var.calc = 1),
  mahal_m1 = Match(Y = Y, Tr = Tr, X = X, M = 1, estimand = "ATT", Weight = 2, Var.calc = 1),
  mahal_m4 = Match(Y = Y, Tr = Tr, X = X, M = 4, estimand = "ATT", Weight = 2, Var.calc = 1)
)
num <- function(x) formatC(x, digits = 12, format = "g")
# (no case without replacement: Matching then breaks ties at random and gives no SE)
lines <- c()
for (nm in names(cases)) {
  r <- cases[[nm]]
  lines <- c(lines, sprintf('  "%s": {"estimate": %s, "std_error": %s, "n_treated": %d, "n_drops": %d}',
                            nm, num(r$est), if (is.null(r$se)) "null" else num(r$se), as.integer(r$wnobs), as.integer(if (is.null(r$ndrops)) 0 else r$ndrops)))
}
json <- c("{", sprintf('  "peer": "R Matching %s (%s)",', packageVersion("Matching"), R.version.string),
          sprintf('  "ps_glm_coef": [%s],', paste(num(coef(glm1)), collapse = ", ")),
          paste(lines, collapse = ",\n"), "}")
writeLines(json, "matching_reference.json")

# bias-adjusted matching (Abadie & Imbens 2011): regression of the controls' outcome on Z
Z <- cbind(lalonde$age, lalonde$educ, lalonde$black, lalonde$hisp, lalonde$married,
           lalonde$nodegr, lalonde$re74, lalonde$re75)
ba <- list(
  mahal_m1_biasadj = Match(Y = Y, Tr = Tr, X = X, Z = X, M = 1, estimand = "ATT", Weight = 2,
                           BiasAdjust = TRUE, Var.calc = 1),
  ps_m1_biasadj_z = Match(Y = Y, Tr = Tr, X = ps, Z = Z, M = 1, estimand = "ATT",
                          BiasAdjust = TRUE, Var.calc = 1)
)
ba_lines <- c()
for (nm in names(ba)) {
  r <- ba[[nm]]
  ba_lines <- c(ba_lines, sprintf('  "%s": {"estimate": %s, "std_error": %s}', nm, num(r$est), num(r$se)))
}
writeLines(c("{", paste(ba_lines, collapse = ",\n"), "}"), "matching_biasadj_reference.json")
