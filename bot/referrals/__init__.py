"""Talent-referral nominations: positions, confidential nominations, consent, HR workflow."""
