"""Human text, one module per command; gridctl/report.py stays the facade."""
