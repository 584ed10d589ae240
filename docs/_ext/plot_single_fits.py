"""The Performance page's first plot: one fit against SciPy (see benchmark_records)."""

import benchmark_records

benchmark_records.plot_single_fits()
