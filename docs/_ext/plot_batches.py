"""The Performance page's second plot: many fits (see benchmark_records)."""

import benchmark_records

benchmark_records.plot_batches()
