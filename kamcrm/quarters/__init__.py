"""Quarter closes: the record of each closed quarter and the lock it puts on dates in it."""
