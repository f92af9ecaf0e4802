"""Demo data: ``flask --app kamcrm seed demo`` loads a realistic region (see ``demo``)."""
