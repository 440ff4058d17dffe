"""python -m core.study.reconstruct: write data/cohort.csv (build time only)."""

from core.study.reconstruct import write_cohort

print(f"wrote {write_cohort()}")
