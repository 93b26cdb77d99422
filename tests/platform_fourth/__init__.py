"""A fourth platform, defined here without touching `bot/`: what adding a platform takes (HACKING.md)."""
