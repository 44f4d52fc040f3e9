"""Order management, paper execution, portfolio and the ledger behind them."""
