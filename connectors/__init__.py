"""Source connectors: each yields Arrow batches plus the cursor after them."""
