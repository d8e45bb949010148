"""Mutation corpus: labelled code changes to the reference agents, replayed against fixtures."""
