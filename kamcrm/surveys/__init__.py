"""Service jobs, customer satisfaction surveys, the call list and Smile Box tallies (SPEC section 9, CR1 3.3)."""
