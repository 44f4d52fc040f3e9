"""AlphaPT headless trading engine. Never imports textual, alphapt_tui or screens."""
