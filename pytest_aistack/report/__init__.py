"""Reports over a results directory: scenario verdicts, test runs and load runs.

``aistack report --format markdown RESULTS_DIR`` (:mod:`.cli`) reads what the other
parts write there (:mod:`.collect`) and renders it (:mod:`.markdown`, or JSON).
"""
