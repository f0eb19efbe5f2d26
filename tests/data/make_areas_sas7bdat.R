# Writes areas.sas7bdat, the SAS fixture read by tests/test_io.py::test_sas7bdat.
# pyreadstat reads SAS data sets but cannot write them, so the fixture is made with R haven.
# Regenerate (Debian: apt-get install r-cran-haven): Rscript tests/data/make_areas_sas7bdat.R
library(haven)
areas <- data.frame(
  AREA_ID = c("01", "02"),
  NAME = c("Vollsmose", "Gellerupparken"),
  KOMMUNE_CODE = c(461, 751),
  REGION_CODE = c(1083, 1082)
)
suppressWarnings(write_sas(areas, "tests/data/areas.sas7bdat"))  # write_sas is marked deprecated
