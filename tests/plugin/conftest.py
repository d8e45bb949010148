"""The sample repository is copied into pytester folders, never collected in place."""

collect_ignore = ["sample_repo"]
