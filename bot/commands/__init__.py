"""Grammar, parsing, the command registry, the router and help."""
