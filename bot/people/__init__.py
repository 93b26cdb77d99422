"""People: profiles (skills, site), account linking, roles and language."""
