"""End-to-end: the web app served by uvicorn, used through a real headless Chromium.

One server for the module (a SQLite store of 20 papers on three announcement days, lexical
and dense indexes over a hash embedder, arXiv answered from recorded responses); each test
gets a fresh browser context, so its own cookies, and signs up its own users. Screenshots of
the main pages go to ``tests/artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from live_server import LiveServer
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

from hash_embedder import indexed_searcher
from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import Organisation
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.http import PoliteClient
from paperfeed.store.database import open_store
from paperfeed.web.app import create_app
from protocol import recorded, recorded_transport
from smtp_server import SmtpServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).parent / "artifacts" / "screenshots"
SUBMITTED = "1707.08567"  # answered from a recorded arXiv API response
SUBMITTED_REPLY = "arxiv_api_atom/id_1707.08567_s0_m100_6a1afebfc6a3.xml"
PASSWORD = "correct horse battery"
DAYS = [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)]


@dataclass(frozen=True)
class Spec:
    title: str
    abstract: str
    authors: tuple[str, ...]
    category: str
    upvotes: int | None = None
    code: str | None = None
    org: str | None = None


ORGS = {"deepmind": Organisation("deepmind", "Google DeepMind"), "ai2": Organisation("ai2", "Ai2")}
SPECS = [
    # Monday
    Spec(
        "Scaling Laws for Retrieval-Augmented Language Models",
        "We study how retrieval corpus size, model size and compute interact. Across 60 "
        "training runs, we find that doubling the datastore is worth a 1.6x larger model on "
        "knowledge-intensive tasks, while reasoning benchmarks barely move.",
        ("Mira Chen", "Jonas Weber", "Priya Raman"),
        "cs.CL",
        upvotes=4,
    ),
    Spec(
        "Graph Transformers Without Positional Encodings",
        "Positional encodings are the costliest part of graph transformers. We show that a "
        "simple degree-aware attention bias recovers their accuracy on molecular property "
        "prediction with a fraction of the preprocessing.",
        ("Lea Dubois", "Tomasz Nowak"),
        "cs.LG",
    ),
    Spec(
        "Probing Galaxy Cluster Masses with Weak Lensing and Neural Posteriors",
        "Simulation-based inference recovers cluster masses from shear maps with calibrated "
        "uncertainties and half the bias of traditional fits.",
        ("Ana Souza", "Kenji Watanabe", "Ruth Okafor"),
        "astro-ph.CO",
    ),
    Spec(
        "Tiny Recurrent Controllers for Quadruped Locomotion",
        "A 40k-parameter recurrent policy trained entirely in simulation walks on gravel, "
        "grass and stairs, transferring zero-shot to a real robot.",
        ("Felix Braun", "Sofia Marino"),
        "cs.RO",
        code="https://github.com/example/tiny-controllers",
    ),
    Spec(
        "A Benchmark for Long-Context Code Understanding",
        "We release 1,200 repository-level questions that need reading across files. Current "
        "models answer 41% correctly; retrieval helps less than expected.",
        ("Omar Haddad", "Julia Kowalski", "Chen Wei", "Maria Garcia"),
        "cs.SE",
        upvotes=2,
    ),
    Spec(
        "Quantum Error Correction with Biased-Noise Cat Qubits",
        "Cat qubits suppress bit flips exponentially; we design a repetition code that exploits "
        "this and estimate its logical error rate under realistic noise.",
        ("Hugo Lefebvre", "Ingrid Olsen"),
        "quant-ph",
    ),
    Spec(
        "Diffusion Models as Priors for Inverse Problems in Medical Imaging",
        "A pretrained diffusion model regularises undersampled MRI reconstruction, improving "
        "image quality at 8x acceleration without retraining for each scanner.",
        ("Sara Lindqvist", "David Cohen", "Aiko Tanaka"),
        "eess.IV",
    ),
    # Tuesday
    Spec(
        "Hippocampal Replay as a Prior for Offline Reinforcement Learning",
        "Inspired by hippocampal replay in rodents, we reorder offline experience by predicted "
        "value and replay it backwards, which speeds up credit assignment and beats strong "
        "offline RL baselines on D4RL.",
        ("Nadia Petrova", "Samuel Adeyemi", "Lucas Martin"),
        "cs.LG",
        upvotes=3,
        org="deepmind",
    ),
    Spec(
        "Self-Correcting Chain-of-Thought via Verifier Feedback",
        "A lightweight verifier flags the first wrong step of a reasoning chain and the model "
        "resumes from there, improving math accuracy by 7 points at equal compute.",
        (
            "Ethan Brooks",
            "Yuki Sato",
            "Hannah Schmidt",
            "Rahul Gupta",
            "Emma Wilson",
            "Li Na",
            "Pablo Ruiz",
            "Zoe Clark",
            "Arjun Mehta",
        ),
        "cs.CL",
        code="https://github.com/example/self-correct",
    ),
    Spec(
        "$\\alpha$-Divergence Variational Inference at Scale",
        "We make $\\alpha$-divergence minimisation stable for models with $10^9$ parameters by "
        "a reparameterised estimator whose variance stays bounded as $\\alpha \\to 1$.",
        ("Claire Fontaine", "Viktor Hansen"),
        "stat.ML",
    ),
    Spec(
        "Learned Index Structures for Vector Databases",
        "Replacing the coarse quantiser of an IVF index by a small learned router cuts recall "
        "loss in half at the same latency on billion-scale benchmarks.",
        ("Marco Rossi", "Eva Novak"),
        "cs.DB",
    ),
    Spec(
        "Photonic Neural Networks Trained In Situ",
        "Backpropagation on a silicon photonic chip, using the chip itself to compute "
        "gradients, reaches 97% accuracy on MNIST with 30x lower energy.",
        ("Isabel Moreno", "Daniel Kim"),
        "physics.optics",
    ),
    Spec(
        "Open Foundation Models for Weather Forecasting",
        "An open 1B-parameter model trained on 40 years of reanalysis matches operational "
        "medium-range forecasts on most variables.",
        ("Grace Liu", "Peter Schulz", "Amina Diallo"),
        "physics.ao-ph",
        upvotes=1,
        org="ai2",
    ),
    Spec(
        "Counterfactual Explanations for Recommender Systems",
        "We generate minimal changes to a user's history that would flip a recommendation, and "
        "find users trust them more than feature attributions.",
        ("Olivia Harris", "Mateo Silva"),
        "cs.IR",
    ),
    # Wednesday (the newest day)
    Spec(
        "Sparse Attention Kernels for Million-Token Contexts",
        "Block-sparse attention kernels with learned routing reach 1M tokens on one GPU at 3x "
        "the throughput of dense FlashAttention, with no loss on long-context retrieval.",
        ("Wei Zhang", "Anna Müller", "Tom Becker"),
        "cs.LG",
        upvotes=5,
        code="https://github.com/example/sparse-kernels",
        org="deepmind",
    ),
    Spec(
        "Language Agents That Learn Tools From Documentation",
        "Agents that read API documentation at test time solve 62% of unseen tool-use tasks, "
        "up from 38% for agents prompted with examples only.",
        ("Lucía Fernández", "Max Hoffmann"),
        "cs.AI",
        upvotes=2,
    ),
    Spec(
        "Protein Structure Prediction from Single Sequences",
        "Without multiple sequence alignments, a protein language model with a structure head "
        "predicts backbones within 2 Å for 70% of orphan proteins.",
        ("Khalid Rahman", "Elena Popescu", "Jin Park"),
        "q-bio.BM",
    ),
    Spec(
        "Efficient Fine-Tuning with Low-Rank Adapters Revisited",
        "A careful sweep shows that rank matters less than learning rate: tuned LoRA matches "
        "full fine-tuning on 11 of 12 tasks.",
        ("Noah Fischer", "Chloé Bernard"),
        "cs.CL",
    ),
    Spec(
        "Robust Speech Recognition for Low-Resource Languages",
        "Self-training on unlabelled radio broadcasts halves the word error rate of speech "
        "recognition for six African languages.",
        ("Kwame Mensah", "Fatou Ndiaye", "Johan Berg"),
        "eess.AS",
    ),
    Spec(
        "On the Calibration of Large Vision-Language Models",
        "Vision-language models are overconfident on out-of-distribution images; temperature "
        "scaling on a small held-out set fixes most of it.",
        ("Irene Costa", "Björn Larsson"),
        "cs.CV",
    ),
]
DAY_OF = [DAYS[0]] * 7 + [DAYS[1]] * 7 + [DAYS[2]] * 6


def records() -> list:
    found = []
    for number, (spec, day) in enumerate(zip(SPECS, DAY_OF, strict=True), start=1):
        found.append(
            paper(
                f"2506.{number:05d}",
                title=spec.title,
                abstract=spec.abstract,
                authors=list(spec.authors),
                categories=[spec.category],
                announced=day,
                published=datetime.combine(day - timedelta(days=1), time(15, 30), UTC),
                links=[spec.code] if spec.code else [],
                organisation=ORGS[spec.org] if spec.org else None,
                upvotes=spec.upvotes,
            )
        )
    return found


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    """The mail server the app sends through."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(served: tuple[str, Services]) -> str:
    """The app served on a free local port; its URL."""
    return served[0]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, mail: SmtpServer
) -> Iterator[tuple[str, Services]]:
    """The app served on a free local port: its URL, and its services for the worker's steps
    (webhooks may go to this machine's receivers)."""
    folder = tmp_path_factory.mktemp("e2e")
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("PAPERFEED_"):
                env.delenv(name)
        env.setenv("PAPERFEED_HOME", str(folder / "home"))
        settings = Settings(
            home=folder / "home",
            database_url=f"sqlite:///{folder / 'store.db'}",
            secret_key="e2e-test-secret",
            signup_rate="1000/minute",
            login_rate="1000/minute",
            submit_rate="1000/minute",
            subscribe_rate="1000/minute",
            smtp_url=mail.url,
            webhook_allow_private=True,
        )
        engine = open_store(settings.database)
        ingest(engine, MemorySource(records()))
        searcher = indexed_searcher(engine, folder)
        routes = [({"id_list": SUBMITTED}, recorded(SUBMITTED_REPLY))]
        services = Services.from_settings(
            settings,
            engine=engine,
            searcher=searcher,
            http=lambda: PoliteClient(delay=0, retries=0, transport=recorded_transport(routes)),
        )
        app = create_app(services)
        with LiveServer(app) as live:
            yield live.url, services
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (``.ci/run`` installs it; CI fails without it, as for PostgreSQL),
    one per test module; screenshots are kept by name, each run's replacing the last's."""
    if not os.access(CHROMIUM, os.X_OK):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Browsing:
    """New browser contexts on the server, each watched for script errors and CSP refusals."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser = browser
        self.url = url
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    def page(self, **options: object) -> Page:
        context = self.browser.new_context(base_url=self.url, **options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # a 4xx a page expects (the 401 to a signed-out upvote) logs "Failed to load
        # resource"; responses are judged below. Any other error (a CSP refusal, a script
        # error) is a problem.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type not in ("document", "fetch"):
            self.problems.append(f"{response.status} for {response.url}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser: Browser, server: str) -> Iterator[Browsing]:
    session = Browsing(browser, server)
    yield session
    session.close()
    assert session.problems == []


@pytest.fixture
def page(browsing: Browsing) -> Page:
    return browsing.page(viewport={"width": 1280, "height": 900})


USERS = itertools.count(1)


def sign_up(page: Page, name: str | None = None) -> str:
    """Sign up a new user through the form; their name."""
    number = next(USERS)
    name = name or f"Reader {number}"
    page.goto("/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"reader{number}-{os.getpid()}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/papers")
    return name


def shot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def card_ids(page: Page) -> list[str]:
    return page.locator("article.card form.vote").evaluate_all(
        "forms => forms.map(f => f.dataset.paper)"
    )


def vote_count(form: Locator) -> int:
    return int(form.locator(".count").inner_text())


def test_signing_up_shows_your_name_in_the_header(page: Page) -> None:
    page.goto("/signup")
    shot(page, "signup")
    name = sign_up(page, "Ada Reader")
    expect(page.locator("header .account")).to_contain_text(name)
    expect(page.get_by_role("link", name="Sign in")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/papers")
    expect(page.locator("header .account")).not_to_contain_text(name)
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "login")


def test_the_api_docs_render_without_internet(page: Page) -> None:
    page.goto("/api/docs")  # Chromium here has no internet: Swagger UI must come from the site
    expect(page.locator(".opblock-summary-path", has_text="/api/papers/search")).to_be_visible()


def test_daily_feed_shows_the_newest_day_and_links_the_day_before(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/papers$"))
    expect(page.locator("h1")).to_contain_text("Wed 04 Jun 2025")
    expect(page.locator("article.card")).to_have_count(6)
    shot(page, "daily_feed")
    page.get_by_role("link", name=re.compile("Tue 03 Jun 2025")).click()
    expect(page).to_have_url(re.compile(r"/papers/date/2025-06-03$"))
    expect(page.locator("article.card")).to_have_count(7)
    # LaTeX in a title reads as text, not markup
    expect(
        page.get_by_role("link", name="\u03b1-Divergence Variational Inference at Scale")
    ).to_be_visible()


def test_search_highlights_the_word_and_keeps_the_query_in_the_url(page: Page) -> None:
    page.goto("/papers")
    box = page.get_by_role("searchbox", name="Search papers")
    box.fill("hippocampal")
    box.press("Enter")
    page.wait_for_url("**/search?q=hippocampal*")
    first = page.locator("article.card").first
    expect(first.locator("h3")).to_have_text(
        "Hippocampal Replay as a Prior for Offline Reinforcement Learning"
    )
    expect(first.locator(".snippet b").first).to_have_text(re.compile("hippocampal", re.I))
    expect(page.get_by_role("searchbox", name="Query")).to_have_value("hippocampal")
    shot(page, "search_results")
    before = card_ids(page)
    page.reload()
    assert card_ids(page) == before
    page.goto(page.url)
    assert card_ids(page) == before


def test_comparing_search_trends_draws_charts_the_csp_allows(page: Page) -> None:
    page.goto("/search?q=language&mode=lexical")
    expect(page.get_by_role("img", name="Papers per month")).to_be_visible()
    page.get_by_role("link", name="Compare this search with others").click()
    page.get_by_label("Search 2").fill("neural")
    page.get_by_label("Search 3").fill("<b>quantum</b>")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/trends?q=language&q=neural&q=*")
    monthly = page.locator("figure.chart").first
    expect(monthly.get_by_role("img", name="Papers per month")).to_be_visible()
    expect(monthly.locator(".legend li")).to_have_text(["language", "neural", "<b>quantum</b>"])
    expect(monthly.locator("polyline")).to_have_count(3)
    box = monthly.locator("svg[role=img]").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    monthly.get_by_text("The counts as a table").click()
    expect(monthly.locator("table tbody th")).to_have_text(["Jun 2025"])
    expect(monthly.locator("table tbody td")).to_have_text(["5", "2", "0"])
    shot(page, "trends")


def test_search_snippets_show_latex_as_text_like_the_rest_of_the_card(page: Page) -> None:
    page.goto("/search?q=divergence&mode=lexical")
    snippet = page.locator("article.card .snippet").first
    expect(snippet).to_contain_text("\u03b1-divergence minimisation")
    expect(snippet.locator("b").first).to_have_text(re.compile("divergence", re.I))
    assert "$" not in snippet.inner_text()


def test_a_paper_page_shows_its_abstract_links_and_similar_papers(page: Page) -> None:
    page.goto("/search?q=sparse+attention+kernels")
    page.get_by_role("link", name="Sparse Attention Kernels for Million-Token Contexts").click()
    page.wait_for_url("**/papers/2506.00015")
    expect(page.locator("h1")).to_have_text("Sparse Attention Kernels for Million-Token Contexts")
    expect(page.locator(".abstract")).to_contain_text("Block-sparse attention kernels")
    expect(page.locator(".paperhead .authors")).to_have_text("Wei Zhang, Anna Müller, Tom Becker")
    arxiv = page.get_by_role("link", name="arXiv page")
    expect(arxiv).to_have_attribute("href", re.compile(r"arxiv\.org/abs/2506\.00015"))
    expect(page.get_by_role("link", name="PDF")).to_have_attribute(
        "href", re.compile(r"arxiv\.org/pdf/2506\.00015")
    )
    expect(page.get_by_role("link", name="Code", exact=True)).to_have_attribute(
        "href", "https://github.com/example/sparse-kernels"
    )
    similar = page.locator("section.similar")
    expect(similar.get_by_role("heading", name="Similar papers")).to_be_visible()
    expect(similar.locator("article.card").first).to_be_visible()
    assert "2506.00015" not in card_ids(page)
    shot(page, "paper")


def test_the_cite_box_opens_copies_and_downloads(browsing: Browsing) -> None:
    page = browsing.page(permissions=["clipboard-read", "clipboard-write"])
    page.goto("/papers/2506.00015")
    bibtex = page.locator(".cite pre")
    expect(bibtex).to_be_hidden()
    page.get_by_text("Cite", exact=True).click()
    expect(bibtex).to_contain_text("eprint = {2506.00015}")
    page.get_by_role("button", name="Copy BibTeX").click()
    expect(page.get_by_role("button", name="Copied ✓")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == bibtex.text_content()
    with page.expect_download() as download:
        page.get_by_role("link", name="RIS file").click()
    assert download.value.suggested_filename == "2506.00015.ris"
    shot(page, "cite")


def test_upvoting_updates_the_count_in_place_and_persists(page: Page) -> None:
    sign_up(page)
    page.goto("/papers/2506.00016")
    vote = page.locator(".paperhead form.vote")
    count = vote_count(vote)
    page.evaluate("window.notReloaded = true")
    vote.get_by_role("button").click()
    expect(vote.locator(".count")).to_have_text(str(count + 1))
    expect(vote).to_have_class(re.compile(r"\bvoted\b"))
    assert page.evaluate("window.notReloaded === true")  # no page load: the script did it

    page.reload()
    vote = page.locator(".paperhead form.vote")
    expect(vote.locator(".count")).to_have_text(str(count + 1))
    expect(vote).to_have_class(re.compile(r"\bvoted\b"))
    expect(vote.get_by_role("button")).to_have_attribute("aria-pressed", "true")

    vote.get_by_role("button").click()  # again: the vote is taken back
    expect(vote.locator(".count")).to_have_text(str(count))
    expect(vote).not_to_have_class(re.compile(r"\bvoted\b"))
    page.reload()
    expect(page.locator(".paperhead form.vote .count")).to_have_text(str(count))
    expect(page.locator(".paperhead form.vote button")).to_have_attribute("aria-pressed", "false")


def test_signed_out_upvote_asks_to_sign_in(page: Page) -> None:
    page.goto("/papers")
    page.locator("article.card form.vote button").first.click()
    page.wait_for_url("**/login?next=*")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_submitting_an_arxiv_id_lands_on_its_page(page: Page) -> None:
    sign_up(page)
    page.goto("/submit")
    shot(page, "submit")
    page.get_by_label("arXiv id or URL").fill(f"https://arxiv.org/abs/{SUBMITTED}")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/papers/{SUBMITTED}")
    expect(page.locator("h1")).to_contain_text("Proceedings of Workshop AEW10")
    expect(page.locator(".abstract")).to_contain_text("Asia-Europe workshop")

    save = page.locator("form[action$='/save'] button")
    pdf = page.get_by_role("link", name="PDF")
    assert same_row(save, pdf)  # the save form sits with the links, not on a line of its own
    save.click()
    expect(save).to_have_text("Saved \u2713")
    page.locator("header .account a").click()
    page.wait_for_url("**/profile")
    submitted = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("Submitted"))
    )
    expect(submitted.locator("article.card h3")).to_contain_text(["Proceedings of Workshop AEW10"])
    shot(page, "profile")


def test_submitting_nonsense_explains_what_is_expected(page: Page) -> None:
    sign_up(page)
    page.goto("/submit")
    page.get_by_label("arXiv id or URL").fill("not a paper")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_contain_text("is not an arXiv id or URL")
    expect(page.get_by_label("arXiv id or URL")).to_have_value("not a paper")


def test_upvotes_move_a_paper_up_the_trending_list(browsing: Browsing, page: Page) -> None:
    page.goto("/papers/trending")
    before = card_ids(page)
    assert len(before) >= 5
    lowest = before[-1]
    for voter in (page, browsing.page()):
        sign_up(voter)
        voter.goto(f"/papers/{lowest}")
        voter.locator(".paperhead form.vote button").click()
        expect(voter.locator(".paperhead form.vote")).to_have_class(re.compile(r"\bvoted\b"))
    page.goto("/papers/trending")
    after = card_ids(page)
    assert after.index(lowest) < before.index(lowest)
    shot(page, "trending")


def test_upvoting_works_without_javascript(browsing: Browsing) -> None:
    page = browsing.page(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    sign_up(page)
    page.goto("/papers/date/2025-06-02")
    vote = page.locator("article.card form.vote").nth(2)
    paper_id = vote.get_attribute("data-paper")
    count = vote_count(vote)
    with page.expect_navigation():
        vote.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/papers/date/2025-06-02$"))  # back where it was
    vote = page.locator(f"form.vote[data-paper='{paper_id}']")
    expect(vote.locator(".count")).to_have_text(str(count + 1))
    expect(vote).to_have_class(re.compile(r"\bvoted\b"))
    with page.expect_navigation():
        vote.get_by_role("button").click()
    expect(page.locator(f"form.vote[data-paper='{paper_id}'] .count")).to_have_text(str(count))


def same_row(first: Locator, second: Locator) -> bool:
    one, other = first.bounding_box(), second.bounding_box()
    assert one and other
    return abs(one["y"] + one["height"] / 2 - other["y"] - other["height"] / 2) < 4


def no_horizontal_scroll(page: Page) -> None:
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: {width}px wide in a {inner}px viewport"


def test_pages_fit_a_phone_screen(browsing: Browsing) -> None:
    phone = browsing.page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    phone.goto("/papers")
    expect(phone.locator("article.card")).to_have_count(6)
    no_horizontal_scroll(phone)
    shot(phone, "mobile_feed")
    for path in ("/papers/2506.00009", "/search?q=graph", "/papers/trending", "/signup"):
        phone.goto(path)
        no_horizontal_scroll(phone)
    phone.goto("/papers/2506.00009")
    shot(phone, "mobile_paper")
    phone.goto("/search?q=graph")
    shot(phone, "mobile_search")


def mailed_link(mail: SmtpServer, to: str, ending: str, path: str = "/subscriptions/") -> str:
    """The path of the link to ``path``… ending in ``ending`` in the newest mail to ``to``."""
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while datetime.now(UTC) < deadline:
        for received in reversed(mail.received):
            if to in received.recipients:
                text = received.message.get_body(("plain",)).get_content()
                return re.search(rf"https?://[^/\s]+({path}\S+{ending})", text)[1]
    raise AssertionError(f"no mail to {to}")


def test_subscribing_from_trending_and_confirming_from_the_mail(
    browsing: Browsing, mail: SmtpServer
) -> None:
    page = browsing.page(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    address = f"digest-{os.getpid()}@example.org"
    page.goto("/papers/trending")
    form = page.locator("form.subscribe")
    form.get_by_label("Email address").fill(address)
    form.get_by_label("How often").select_option("weekly")
    form.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("we sent a mail to")).to_be_visible()
    page.goto(mailed_link(mail, address, "/confirm"))
    page.get_by_role("button", name="Yes, confirm").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Confirmed"))
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")  # the browser's
    expect(page.get_by_label("How often")).to_have_value("weekly")
    shot(page, "subscription")
    page.get_by_role("link", name="Preview the next digest").click()
    shot(page, "digest-preview")


def test_confirming_your_address_from_the_mailed_link(page: Page, mail: SmtpServer) -> None:
    sign_up(page)
    page.locator("header .account a").click()
    page.wait_for_url("**/profile")
    expect(page.get_by_text("Confirm your address first.")).to_be_visible()
    address = page.locator("main p.muted").first.inner_text()
    page.goto(mailed_link(mail, address, "", path="/verify/"))
    page.get_by_role("button", name="Yes, confirm my address").click()
    page.wait_for_url("**/profile?verified=1")
    expect(page.get_by_role("status")).to_have_text(re.compile("Your address is confirmed"))
    expect(page.get_by_text("Confirm your address first.")).to_have_count(0)
    shot(page, "address-confirmed")


def test_for_you_explains_each_recommendation(page: Page) -> None:
    sign_up(page)
    page.goto("/papers/date/2025-06-02")
    first = card_ids(page)[0]
    page.goto(f"/papers/{first}")
    page.get_by_role("button", name="Save").first.click()
    page.goto("/for-you")
    expect(page.locator("p.because").first).to_contain_text("Because you saved")
    shot(page, "for-you")


def test_commenting_and_replying_on_a_paper_page(browsing: Browsing) -> None:
    ada, bob = browsing.page(), browsing.page()
    sign_up(ada, "Ada Commenter")
    ada.goto("/papers/2506.00016")
    ada.get_by_label("Add a comment").fill("Does this hold for $\\alpha > 1$? See 2506.00001.")
    ada.get_by_role("button", name="Comment", exact=True).click()
    first = ada.locator("li.comment").first
    expect(first).to_contain_text("Does this hold for \N{GREEK SMALL LETTER ALPHA} > 1?")
    expect(first.get_by_role("link", name="2506.00001")).to_have_attribute(
        "href", "/papers/2506.00001"
    )

    sign_up(bob, "Bob Replier")
    bob.goto("/papers/2506.00016")
    comment = bob.locator("li.comment").first
    comment.locator("summary", has_text="Reply").click()
    comment.get_by_label("Reply").fill("It does, by **Lemma 2**.")
    comment.get_by_role("button", name="Reply").click()
    reply = bob.locator("li.comment li.comment")
    expect(reply).to_contain_text("It does, by Lemma 2.")
    expect(reply.locator(".comment-body strong")).to_have_text("Lemma 2")
    shot(bob, "discussion")
