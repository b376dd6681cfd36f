"""Discussions on paper pages and in the API: threaded comments, replies, editing and
deleting one's own, reports, and the admin queue (hide or restore a comment, ban or unban its
author). Posting is rate-limited per user; a reply is mailed to the author of the comment it
answers when they opted in on their profile, and a comment to the followers of its paper's
authors who opted in on their Following page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from paperfeed.digest.outbox import deliver
from paperfeed.digest.run import mail_comment
from paperfeed.services import Services
from paperfeed.store.comments import (
    MAX_BODY,
    MAX_REASON,
    CommentError,
    NoComment,
    NotAllowed,
    add_comment,
    banned_users,
    delete_comment,
    edit_comment,
    get_comment,
    hidden_comments,
    paper_comments,
    report_comment,
    reported_comments,
    set_banned,
    set_comment_hidden,
    set_reply_mail,
)
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import acting_user, current_user, rate_limit
from paperfeed.web.views import CsrfField, OnField, PaperId, back, canonical_id, iso

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["comments"])
T = TypeVar("T")
MAX_ID = 2**31 - 1  # an INTEGER column's largest on PostgreSQL: a larger id is a 422, not a 500
CommentId = Annotated[int, Path(ge=1, le=MAX_ID, description="A comment's id")]
BodyField = Annotated[str, Form(max_length=MAX_BODY)]
ReasonField = Annotated[str, Form(max_length=MAX_REASON)]


class NewComment(BaseModel):
    body: str = Field(max_length=MAX_BODY, description="Markdown; LaTeX is shown as text")
    parent: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The comment this replies to"
    )


class CommentEdit(BaseModel):
    body: str = Field(max_length=MAX_BODY, description="Markdown")


class Report(BaseModel):
    reason: str = Field(default="", max_length=MAX_REASON, description="What is wrong with it")


def _done(action: Callable[..., T], *args: Any) -> T:
    """Run a change; the store's refusals as HTTP errors with the reason."""
    try:
        return action(*args)
    except CommentError as exc:
        raise HTTPException(400, f"Not done: {exc}.") from None
    except NoComment:
        raise HTTPException(404, "There is no such comment.") from None
    except NotAllowed as exc:
        raise HTTPException(403, f"Not allowed: {exc}.") from None


def discussion(services: Services, arxiv_id: str, user: dict[str, Any] | None) -> list[dict]:
    """The paper's comments as the viewer sees them, threaded: replies under ``replies``.
    Hidden comments show as placeholders except to an admin; placeholders left with nothing
    shown under them are left out."""
    admin = bool(user and user["is_admin"])
    rows = paper_comments(services.engine, arxiv_id, include_hidden=admin)
    nodes = {row["id"]: {**row, "replies": []} for row in rows}
    kept: set[int] = set()
    for node in reversed(nodes.values()):  # replies come after what they answer
        node["state"] = _state(node)
        if node["state"] == "hidden" and not admin:
            node.update(body="", html="", author=None, user_id=None)
        if node["state"] == "shown" or (admin and node["state"] == "hidden") or node["replies"]:
            kept.add(node["id"])
            if node["parent_id"] in nodes:
                nodes[node["parent_id"]]["replies"].insert(0, node)
    return [n for n in nodes.values() if n["parent_id"] is None and n["id"] in kept]


def _state(comment: dict[str, Any]) -> str:
    if comment["deleted_at"]:
        return "deleted"
    return "hidden" if comment["hidden_at"] else "shown"


def comment_json(node: dict[str, Any]) -> dict[str, Any]:
    """A comment with its replies, as the API gives them."""
    return {
        "id": node["id"],
        "paper": node["arxiv_id"],
        "parent": node["parent_id"],
        "author": {"name": node["author"]} if node["author"] else None,
        "state": node.get("state") or _state(node),
        "body": node["body"],
        "html": node["html"],
        "createdAt": iso(node["created_at"]),
        "editedAt": iso(node["edited_at"]),
        "replies": [comment_json(reply) for reply in node.get("replies", ())],
    }


def post_comment(
    request: Request,
    services: Services,
    background: BackgroundTasks,
    arxiv_id: str,
    body: str,
    parent: int | None,
    csrf: str | None = None,
) -> dict[str, Any]:
    """The signed-in user's comment or reply (rate-limited per user), its mails queued and
    sent after the response; the new comment."""
    user = acting_user(request, csrf)
    rate_limit(request, services.settings.comment_rate, "comment", key=str(user["id"]))
    comment_id = _done(add_comment, services.engine, user["id"], arxiv_id, body, parent)
    comment = get_comment(services.engine, comment_id) or {}
    if mail_comment(services.engine, comment, services.mailer):
        background.add_task(deliver, services.engine, services.mailer.smtp)
    return comment


def _existing(services: Services, comment_id: int) -> dict[str, Any]:
    comment = get_comment(services.engine, comment_id)
    if comment is None or comment["deleted_at"]:
        raise HTTPException(404, "There is no such comment.")
    return comment


# the pages --------------------------------------------------------------------------------


@router.post("/papers/{arxiv_id:path}/comments")
def comment_form(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    arxiv_id: str,
    body: BodyField = "",
    parent: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    comment = post_comment(request, services, background, arxiv_id, body, parent, csrf_token)
    return RedirectResponse(f"/papers/{comment['arxiv_id']}#comment-{comment['id']}", 303)


@router.post("/comments/{comment_id}/edit")
def edit_form(
    request: Request,
    services: ServicesDep,
    comment_id: CommentId,
    body: BodyField = "",
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    _done(edit_comment, services.engine, user["id"], comment_id, body)
    comment = _existing(services, comment_id)
    return RedirectResponse(f"/papers/{comment['arxiv_id']}#comment-{comment_id}", 303)


@router.post("/comments/{comment_id}/delete")
def delete_form(
    request: Request, services: ServicesDep, comment_id: CommentId, csrf_token: CsrfField = ""
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    comment = _existing(services, comment_id)
    _done(delete_comment, services.engine, user["id"], comment_id)
    return RedirectResponse(f"/papers/{comment['arxiv_id']}#comments", 303)


@router.post("/comments/{comment_id}/report")
def report_form(
    request: Request,
    services: ServicesDep,
    comment_id: CommentId,
    reason: ReasonField = "",
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    user = acting_user(request, csrf_token)
    comment = _existing(services, comment_id)
    _done(report_comment, services.engine, user["id"], comment_id, reason)
    return page(request, "comment_reported.html", comment=comment)


@router.post("/profile/reply-mail")
def reply_mail_form(
    request: Request, services: ServicesDep, on: OnField = False, csrf_token: CsrfField = ""
) -> RedirectResponse:
    """Opt in to (or out of) a mail for each reply to one's comments."""
    user = acting_user(request, csrf_token)
    set_reply_mail(services.engine, user["id"], on)
    return RedirectResponse("/profile#replies", 303)


def _admin(request: Request, csrf_token: str | None = None) -> dict[str, Any]:
    user = acting_user(request, csrf_token) if csrf_token is not None else current_user(request)
    if user is None:
        raise HTTPException(401, "Sign in first.")
    if not user["is_admin"]:
        raise HTTPException(403, "Only an admin can moderate comments.")
    return user


@router.get("/admin/reports")
def reports_page(request: Request, services: ServicesDep) -> HTMLResponse:
    """The moderation queue: reported comments, recently hidden ones, banned accounts."""
    _admin(request)
    engine = services.engine
    return page(
        request,
        "admin_reports.html",
        reported=reported_comments(engine),
        hidden=hidden_comments(engine),
        banned=banned_users(engine),
    )


@router.post("/admin/comments/{comment_id}/hide")
def hide_form(
    request: Request,
    services: ServicesDep,
    comment_id: CommentId,
    on: OnField = True,
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    """Hide a comment (``on``) or leave it up / show it again: its reports are dealt with."""
    _admin(request, csrf_token)
    _done(set_comment_hidden, services.engine, comment_id, on)
    return back(request, "/admin/reports")


@router.post("/admin/users/{user_id}/ban")
def ban_form(
    request: Request,
    services: ServicesDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    on: OnField = True,
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    admin = _admin(request, csrf_token)
    if user_id == admin["id"]:
        raise HTTPException(400, "An admin cannot ban themselves.")
    if not set_banned(services.engine, user_id, on):
        raise HTTPException(404, "There is no such account.")
    return back(request, "/admin/reports")


# the API ----------------------------------------------------------------------------------


@api_router.get(
    "/papers/{arxiv_id:path}/comments",
    summary="The paper's comments, threaded (replies under each); an admin sees hidden ones",
    **documented(404, auth=Auth.OPTIONAL),
)
def comments(request: Request, services: ServicesDep, arxiv_id: PaperId) -> list[dict[str, Any]]:
    found = discussion(services, canonical_id(arxiv_id), current_user(request))
    return [comment_json(node) for node in found]


@api_router.post(
    "/papers/{arxiv_id:path}/comments",
    summary="Comment on the paper, or reply to one of its comments (`parent`)",
    status_code=201,
    **documented(400, 403, 404, 413, 429, auth=Auth.SIGNED_IN),
)
def new_comment(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    arxiv_id: PaperId,
    body: NewComment,
) -> dict[str, Any]:
    """403 for a banned account; 400 for an empty body or a `parent` not shown on the paper."""
    canonical = canonical_id(arxiv_id)
    comment = post_comment(request, services, background, canonical, body.body, body.parent)
    return comment_json(comment)


@api_router.patch(
    "/comments/{comment_id}",
    summary="Edit your comment",
    **documented(400, 403, 404, 413, auth=Auth.SIGNED_IN),
)
def change_comment(
    request: Request, services: ServicesDep, comment_id: CommentId, body: CommentEdit
) -> dict[str, Any]:
    user = acting_user(request, None)
    _done(edit_comment, services.engine, user["id"], comment_id, body.body)
    return comment_json(_existing(services, comment_id))


@api_router.delete(
    "/comments/{comment_id}",
    summary="Delete your comment (a placeholder stays while it has replies)",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def remove_comment(
    request: Request, services: ServicesDep, comment_id: CommentId
) -> dict[str, Any]:
    user = acting_user(request, None)
    _done(delete_comment, services.engine, user["id"], comment_id)
    return {"id": comment_id, "deleted": True}


@api_router.post(
    "/comments/{comment_id}/report",
    summary="Report a comment to the admins",
    **documented(400, 403, 404, 413, auth=Auth.SIGNED_IN),
)
def report(
    request: Request, services: ServicesDep, comment_id: CommentId, body: Report
) -> dict[str, Any]:
    """``reported`` is false when you had reported it already."""
    user = acting_user(request, None)
    fresh = _done(report_comment, services.engine, user["id"], comment_id, body.reason)
    return {"id": comment_id, "reported": fresh}
