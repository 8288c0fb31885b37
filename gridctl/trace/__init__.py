"""gridctl trace: a loopback recording proxy that diagnoses the calls a user's own program makes."""
