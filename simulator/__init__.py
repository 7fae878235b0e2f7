"""The seeded simulator behind the bundled sample (`churn simulate`, `make sample`): a
subscription business's exports with churn driven by the retention research, and the true
churn probability of every customer, kept apart from the pipeline it exercises."""

from simulator.history import simulate_history, write_history

__all__ = ["simulate_history", "write_history"]
