"""``POST /user_management/authenticate``: the OAuth2 password flow, the one endpoint without a token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from ..errors import responses
from ..schemas import Token
from .common import AUTH_PATH, route

router = APIRouter(tags=["user management"])


@route(router, "POST", AUTH_PATH, response_model=Token, responses=responses(401, 413, 422))
def authenticate(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a user name and password (form fields ``username``, ``password``) for a bearer token.

    A plain ``def``: the argon2 check is slow on purpose and runs in a worker thread, not on the loop.
    """
    return Token(access_token=request.app.state.accounts.login(form.username, form.password))
