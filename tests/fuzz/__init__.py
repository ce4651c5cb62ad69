"""The fuzz harness: every parser of user and server input, fed generated and mutated input."""
