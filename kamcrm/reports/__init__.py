"""The CR2 report, the monthly summary, quarter snapshots, and their exporters."""
