"""Communities: purpose, members, managers, who knows what, shared resources."""
