"""Planning: the item catalogue and its per-TPS norms, from which needs are computed."""
