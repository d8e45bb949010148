"""A tiny research agent: search the web, wait for a review window, summarise."""
