"""Crisis announcements: one trusted voice, every channel, acknowledgements, questions (design §1.3)."""
