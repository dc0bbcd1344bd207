"""Domain rules for records requests: deadlines, fees, letters and the jurisdiction data behind them."""
