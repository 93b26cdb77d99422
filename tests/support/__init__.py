"""Test helpers shared by the suite (database fixtures, a chat driver over the core)."""
