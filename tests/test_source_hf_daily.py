"""The Hugging Face daily papers source against the recorded response."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperfeed.records import Organisation, PaperRecord, validate
from paperfeed.sources.base import Rejected, SourceError
from paperfeed.sources.hf_daily import HfDailySource
from protocol import PROTOCOL, FakeNet, Reply, body, files, recorded

BASE = "https://huggingface.co/api/daily_papers"
DAILY = "hf_daily_papers/daily_papers_2026-09-04_3entries.json"
IDS = ["2609.04199", "2609.03430", "2609.01507"]
DAY = date(2026, 9, 4)


def read_file(path: Path, checkpoint=None):
    src = HfDailySource.from_file(path)
    src.check()
    return [item for item, _ in src.read(checkpoint)], src


def read_api(routes):
    net = FakeNet(routes)
    src = HfDailySource.from_api(net.client, BASE, DAY)
    return [item for item, _ in src.read(None)], net, src


def edited(tmp_path: Path, change) -> Path:
    """A copy of the recorded response with ``change`` applied to its entries."""
    entries = json.loads(body(DAILY))
    change(entries)
    path = tmp_path / "daily.json"
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.parametrize("name", files("hf_daily_papers", "*.json"))
def test_every_recorded_response_gives_valid_records(name: str) -> None:
    items, _ = read_file(PROTOCOL / name)
    assert [i.arxiv_id for i in items] == IDS
    assert all(isinstance(i, PaperRecord) and validate(copy.copy(i)) for i in items)


def test_entry_fields() -> None:
    items, _ = read_file(PROTOCOL / DAILY)
    record = items[0]
    assert record.title == (
        "Compile by Training: Turning Natural-Language Specifications into Local Neural Functions"
    )
    assert record.authors == ["Yuntian Deng", "Pengyu Nie", "Stuart Shieber"]
    assert record.abstract.startswith("Many recurring text functions are easy to describe")
    assert record.upvotes == 314
    assert record.organisation == Organisation("UWaterloo", "University of Waterloo")
    assert record.source == "hf-daily:daily_papers_2026-09-04_3entries.json"


def test_hugging_faces_own_data_is_kept() -> None:
    items, _ = read_file(PROTOCOL / DAILY)
    record = items[1]
    assert (record.ai_summary or "").startswith("Random eviction of reasoning tokens")
    assert record.ai_keywords is not None and record.ai_keywords[0] == "KV cache compression"
    assert (record.github_stars, record.num_comments) == (31, 4)
    assert record.submitted_on_daily_at == datetime(2026, 9, 4, tzinfo=UTC)
    assert record.submitted_by == "ChengsongHuang"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p, e: p.update(githubStars="many"), "githubStars 'many' is not a number"),
        (lambda p, e: e.update(numComments=True), "numComments True is not a number"),
        (lambda p, e: p.update(ai_keywords="a, b"), "ai_keywords 'a, b' is not a list of words"),
    ],
)
def test_a_malformed_extra_rejects_the_entry(tmp_path: Path, change, reason: str) -> None:
    path = edited(tmp_path, lambda entries: change(entries[0]["paper"], entries[0]))
    items, _ = read_file(path)
    assert isinstance(items[0], Rejected) and items[0].reason == reason
    assert [i.arxiv_id for i in items[1:]] == IDS[1:]


def test_dates_are_published_and_daily_submission_days() -> None:
    items, _ = read_file(PROTOCOL / DAILY)
    record = items[0]
    assert (record.announced, record.first_seen, record.last_seen) == (
        date(2026, 9, 3),
        DAY,
        DAY,
    )


def test_links_are_repository_project_page_and_abstract_links_without_repeats() -> None:
    items, _ = read_file(PROTOCOL / DAILY)
    assert items[0].links == [
        "https://github.com/programasweights/compile-by-training",
        "https://programasweights.com/playground?compiler=paw-ft-bs48",
    ]
    assert items[2].links == [
        "https://github.com/HJSang/LatentPress",
        "https://github.com/xuyd16ai/context_softtoken_compress",
    ]


def test_entry_without_organisation_has_none() -> None:
    items, _ = read_file(PROTOCOL / DAILY)
    assert items[2].organisation is None


def test_entry_without_paper_id_is_rejected(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda entries: entries[1]["paper"].pop("id"))
    items, _ = read_file(path)
    assert items[1] == Rejected("daily.json entry 2", "missing paper.id")
    assert [items[0].arxiv_id, items[2].arxiv_id] == [IDS[0], IDS[2]]


def test_broken_json_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "daily.json"
    path.write_bytes(body(DAILY)[:1000])
    with pytest.raises(
        SourceError,
        match=f"^{re.escape(str(path))}: not a Hugging Face daily_papers response: not JSON",
    ):
        HfDailySource.from_file(path).check()


def test_json_that_is_not_a_list_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "daily.json"
    path.write_text('{"error": "Invalid date"}')
    with pytest.raises(SourceError) as caught:
        HfDailySource.from_file(path).check()
    assert str(caught.value) == (
        f"{path}: not a Hugging Face daily_papers response: a JSON dict, not a list"
    )


def test_missing_file_fails_the_check(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        HfDailySource.from_file(tmp_path / "absent.json").check()


def test_resume_skips_entries_done() -> None:
    items, _ = read_file(PROTOCOL / DAILY, checkpoint={"index": 2})
    assert [i.arxiv_id for i in items] == IDS[2:]


def test_checkpoints_count_entries() -> None:
    src = HfDailySource.from_file(PROTOCOL / DAILY)
    assert [cp for _, cp in src.read(None)] == [{"index": 1}, {"index": 2}, {"index": 3}]


def test_file_params_name_the_file_and_its_size() -> None:
    src = HfDailySource.from_file(PROTOCOL / DAILY)
    assert src.params() == {"file": str((PROTOCOL / DAILY).resolve()), "size": 17033}


def test_progress_counts_entries() -> None:
    _, src = read_file(PROTOCOL / DAILY)
    assert src.progress() == (3, 3)


def test_api_asks_for_the_day() -> None:
    _, net, _ = read_api([({}, recorded(DAILY))])
    assert net.params(0) == {"date": "2026-09-04", "limit": "100", "p": "0"}


def test_api_records_name_the_day() -> None:
    items, _, _ = read_api([({}, recorded(DAILY))])
    assert [(i.arxiv_id, i.source) for i in items] == [(i, "hf-daily:2026-09-04") for i in IDS]


def test_api_full_page_asks_for_the_next_and_stops_when_nothing_is_new() -> None:
    template = json.loads(body(DAILY))[0]
    full = [{**template, "paper": {**template["paper"], "id": f"2609.{n:05d}"}} for n in range(100)]
    items, net, _ = read_api([({}, Reply(json.dumps(full).encode()))])
    assert len(items) == 100
    assert [net.params(i)["p"] for i in range(len(net.requests))] == ["0", "1"]


def test_api_http_error_stops_the_run() -> None:
    with pytest.raises(SourceError, match=r"daily_papers\?date=2026-09-04.*: HTTP 404$"):
        read_api([({}, Reply(b'{"error": "not found"}', 404))])


def test_api_params_name_url_and_day() -> None:
    src = HfDailySource.from_api(FakeNet([]).client, BASE, DAY)
    assert src.params() == {"url": BASE, "date": "2026-09-04"}
