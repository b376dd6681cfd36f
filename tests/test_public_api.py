"""The Python API: ``paperfeed.search`` and ``paperfeed.similar`` on the configured store."""

from __future__ import annotations

from click.testing import CliRunner

import paperfeed
from conftest import SAMPLE
from paperfeed.cli import cli


def test_search_uses_the_configured_store_and_indexes() -> None:
    runner = CliRunner()
    runner.invoke(cli, ["ingest", "jsonl", str(SAMPLE)], catch_exceptions=False)
    runner.invoke(cli, ["index", "--no-embed"], catch_exceptions=False)
    paperfeed.default_services.cache_clear()
    results = paperfeed.search('"Gaussian Splatting" sensor simulation', mode="lexical", limit=1)
    assert [hit.arxiv_id for hit in results.hits] == ["2503.11731"]
