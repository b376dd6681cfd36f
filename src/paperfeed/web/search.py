"""Search: the results page, its JSON twin and its BibTeX and RIS files, each one page of
:func:`run_search`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from paperfeed.index.query import MODES, SORTS
from paperfeed.services import Services
from paperfeed.store.queries import cards_in_order
from paperfeed.store.schema import FollowKind
from paperfeed.web.api_docs import documented
from paperfeed.web.cite import reference_file
from paperfeed.web.deps import ServicesDep
from paperfeed.web.follows import follow_option
from paperfeed.web.render import page
from paperfeed.web.search_form import SearchForm, run_search
from paperfeed.web.security import current_user
from paperfeed.web.trends import MAX_QUERY, search_trends, trend_charts
from paperfeed.web.views import PER_PAGE, api_categories, hit_json, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["papers"])


@router.get("/search")
def search_page(
    request: Request, services: ServicesDep, form: Annotated[SearchForm, Query()]
) -> HTMLResponse:
    # the trend is counted beside the search (tantivy lets go of the GIL), used if it finds any
    with ThreadPoolExecutor(1) as counting:
        first = form.page == 1 and form.active
        trending = counting.submit(search_trends, services, form, [form.q]) if first else None
        results, notes = run_search(services.searcher, form, PER_PAGE)
        found = trending.result() if trending and results else None
    user = current_user(request)
    hits = with_marks(services, user, [dict(vars(hit)) for hit in results])
    wanted = form.follow_target()
    # a search found by meaning alone has no papers with its words to count
    trend = trend_charts(found, "search") if found and found.series[0].total else []
    return page(
        request,
        "search.html",
        form=form,
        hits=hits,
        notes=notes,
        categories=form.categories()[0],
        modes=MODES,
        sorts=SORTS,
        more=len(results) == PER_PAGE,
        follow=follow_option(services, user, FollowKind.SEARCH, wanted) if form.q.strip() else None,
        trend=trend,
        max_query=MAX_QUERY,
    )


@router.get("/search.bib")
def search_bibtex(services: ServicesDep, form: Annotated[SearchForm, Query()]) -> Response:
    return _search_file(services, form, "bib")


@router.get("/search.ris")
def search_ris(services: ServicesDep, form: Annotated[SearchForm, Query()]) -> Response:
    return _search_file(services, form, "ris")


def _search_file(services: Services, form: SearchForm, extension: str) -> Response:
    """The papers the results page shows for ``form``, in its order, as a file."""
    results, _ = run_search(services.searcher, form, PER_PAGE)
    found = cards_in_order(services.engine, [hit.arxiv_id for hit in results])
    return reference_file(found, extension, "paperfeed-search")


class ApiSearchForm(SearchForm):
    """The search box as Hugging Face's ``/api/papers/search`` takes it: ``q`` of at most 250
    characters."""

    q: str = Field(
        default="",
        max_length=250,
        description="Free text; also `author:`, `cat:`, `year:`, quotes.",
    )


@api_router.get("/papers/search", summary="Hybrid search with filters and sorts", **documented(400))
def search_papers(
    services: ServicesDep,
    form: Annotated[ApiSearchForm, Query()],
    limit: Annotated[int, Query(ge=1, le=120)] = 20,
) -> list[dict[str, Any]]:
    api_categories(form.cat)
    hits, _ = run_search(services.searcher, form, limit)
    return [hit_json(hit) for hit in hits]
