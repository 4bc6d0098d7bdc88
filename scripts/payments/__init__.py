"""The checks of scripts/payments_e2e.py (scripts/payments-e2e), by what they test; see that file's docstring."""
