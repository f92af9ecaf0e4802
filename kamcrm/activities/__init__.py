"""Activities (FMS, RBA, COM, EXV, SEM, PLN, BOI), follow-ups, the customer's voice."""
