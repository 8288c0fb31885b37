"""Human output, one module per command: the words come from the catalogue, the layout from here."""
