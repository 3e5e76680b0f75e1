"""The five payment targets, outcome payments, investors' cash flows and forecasts."""
