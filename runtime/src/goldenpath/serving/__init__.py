"""The prediction service: `python -m goldenpath.serving` (or `make serve`)."""
