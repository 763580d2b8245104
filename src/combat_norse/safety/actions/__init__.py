"""The safety app's actions: one module per noun (treatment, clocks, alerts, due work)."""
