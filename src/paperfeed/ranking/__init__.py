"""Ranking: fusing lexical and dense results, trending scores."""
