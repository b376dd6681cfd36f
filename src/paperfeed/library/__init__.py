"""A user's personal library: references imported from a reference manager, BibTeX export."""
