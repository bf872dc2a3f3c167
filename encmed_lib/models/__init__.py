"""Model-floor helpers shared by :mod:`encmed_lib.tree` (checks of a tree that arrives as JSON)."""
