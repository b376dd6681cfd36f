"""What routes take as parameters: the app's :class:`~paperfeed.services.Services`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from paperfeed.services import Services


def get_services(request: Request) -> Services:
    """The services ``create_app`` was given."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
