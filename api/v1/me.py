"""GET /api/v1/me: whom a token belongs to."""

from flask.views import MethodView

from api.auth import current_user
from api.v1 import blueprint
from api.v1.schemas import UserSchema

blp = blueprint("me", "The user a token belongs to.")


@blp.route("/me")
class Me(MethodView):
    """The token's user."""

    @blp.response(200, UserSchema)
    def get(self):
        """The user the request's token belongs to."""
        return {"user": current_user()}
