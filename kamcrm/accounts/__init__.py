"""Key accounts, their effective-dated tiers and their contact persons."""
