"""Reporting: tables and figures built from results (nothing here computes the model)."""
