"""/api/v1/tokens: a user's own API tokens, listed, made and revoked."""

import time

from flask import request
from flask.views import MethodView

from api.auth import current_user
from api.errors import ApiError
from api.services import services
from api.v1 import blueprint
from api.v1.schemas import IssuedTokenSchema, NewTokenSchema, TokenSchema
from core.users import TooManyTokens, token_view

blp = blueprint("tokens", "The user's own API tokens.")
# Tokens one user may hold at once.
TOKENS_MAX = 100


@blp.route("/tokens")
class Tokens(MethodView):
    """The user's tokens."""

    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """The user's tokens, oldest first: ids, labels and expiry, never the tokens."""
        return services().users.list_tokens(current_user())

    @blp.arguments(NewTokenSchema)
    @blp.response(201, IssuedTokenSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Make a token for the user; the answer is the only time it is shown."""
        if not request.get_data():
            raise ApiError(422, "A JSON body is required: {} makes a token with no label that never expires.",
                           {"json": {"_schema": ["Missing request body."]}})
        now = time.time()
        days = data["expires_in_days"]
        expires_at = None if days is None else now + days * 86400
        try:
            token_id, token = services().users.issue_token(
                current_user(), label=data["label"], expires_at=expires_at, cap=TOKENS_MAX)
        except TooManyTokens:
            raise ApiError(409, f"A user may hold at most {TOKENS_MAX} tokens; revoke one first.") from None
        return {**token_view({"_id": token_id, "label": data["label"], "created_at": now,
                              "expires_at": expires_at}), "token": token}


@blp.route("/tokens/<token_id>")
class Token(MethodView):
    """One of the user's tokens."""

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, token_id):
        """Revoke a token of the user's: requests with it are refused from now on."""
        if not services().users.revoke_token(token_id, user=current_user()):
            raise ApiError(404, f"No token of yours with id {token_id!r}.")
