"""Reporting: tables and figures built from results (nothing here computes the model)."""

# Public modules (plotly and pandas load when one is imported).
__all__ = ["browser", "export", "figdata", "figures", "html", "run", "search_tables", "tables",
           "validation_html"]
