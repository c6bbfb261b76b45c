"""GPU cloud: a catalog of deployable models, deployments on compute providers, and
per-second billing of their running time."""
