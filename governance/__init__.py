"""The closed loop's figures (needs, check-ins) and the monthly governance ranking (每月通报).

Pure Polars functions, no Dagster and no I/O: `assets/governance.py` reads and writes.
"""
