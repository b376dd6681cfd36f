"""The search box and its filters as query parameters, shared by the page, API and feeds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from paperfeed.index.query import MAX_CHARS, Filters, read_categories
from paperfeed.ranking.following import search_target
from paperfeed.ranking.search import Hit, Searcher
from paperfeed.web.views import MAX_CATEGORY_VALUES, CategoryValue, IsoDate

LAST_PAGE = 50  # a ranking is deep enough for this many pages, not for every paper
MAX_PAGE = 1000  # past LAST_PAGE a page says where results stop; past this it is a 422


class FilterForm(BaseModel):
    """A search's filters: ``cat=…&author=…&org=…&from=…&to=…``."""

    cat: list[CategoryValue] = Field(
        default=[],
        max_length=MAX_CATEGORY_VALUES,
        description="Categories or archives (cs.CL, cs), any of them: repeat it, or separate "
        "them by commas",
    )
    author: str = Field(default="", max_length=200)
    org: str = Field(default="", max_length=200, description="An organisation handle")
    date_from: IsoDate = Field(default=None, alias="from")
    date_to: IsoDate = Field(default=None, alias="to")

    def categories(self) -> tuple[list[str], list[str]]:
        """The categories filtered by, and why each one left out is (:func:`read_categories`)."""
        return read_categories(self.cat)

    def filters(self) -> Filters:
        categories = " ".join(self.categories()[0])
        return Filters.typed(categories, self.author, self.org, self.date_from, self.date_to)


class SearchForm(FilterForm):
    """``/search?q=…&mode=…&sort=…&page=…`` and the filters."""

    q: str = Field(
        default="",
        max_length=2 * MAX_CHARS,
        description=f"Free text; also `author:`, `cat:`, `year:`, quotes. Cut to {MAX_CHARS:,} "
        "characters.",
    )
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid"
    sort: Literal["relevance", "date", "upvotes"] = "relevance"
    page: int = Field(
        default=1, ge=1, le=MAX_PAGE, description=f"From 1; results stop at page {LAST_PAGE}"
    )

    def follow_target(self) -> str:
        """This search as a follow keeps it (its words and filters, not its dates, order or
        page): :func:`~paperfeed.ranking.following.search_target`."""
        return search_target(self.q, self.categories()[0], self.author, self.org)

    @property
    def active(self) -> bool:
        """Whether there is anything to search for."""
        return bool(self.q.strip() or self.categories()[0] or self.author or self.org)


def run_search(searcher: Searcher, form: SearchForm, per_page: int) -> tuple[list[Hit], list[str]]:
    """One page of results and the notes about the query (cut, semantic search missing…)."""
    ignored = [f"Ignored: {problem}." for problem in form.categories()[1]]
    if not form.active:
        return [], ignored
    if form.page > LAST_PAGE:
        return [], [f"Results stop at page {LAST_PAGE}: more words or filters narrow the search."]
    results = searcher.search(
        form.q,
        mode=form.mode,
        sort=form.sort,
        limit=per_page,
        offset=(form.page - 1) * per_page,
        filters=form.filters(),
    )
    return results.hits, [*ignored, *results.notes]
