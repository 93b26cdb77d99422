"""End-to-end encryption for the Matrix bot: matrix-nio's crypto state in Cercle's database (see HACKING.md)."""
