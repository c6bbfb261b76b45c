"""How raw usage rows are stored over time: monthly partitions on PostgreSQL, created ahead
of time, and the retention that removes old raw rows once their hours are in the rollup."""
