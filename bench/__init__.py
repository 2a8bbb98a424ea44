"""`make bench`: API calls, landing speed, memory and dbt cost, measured against baselines."""
