"""A terminal adapter over the same core (local use, demos, scripted tests)."""
