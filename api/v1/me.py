"""GET /api/v1/me: whom a token belongs to, and what they may do."""

from flask.views import MethodView
from redis.exceptions import RedisError

from api.auth import current_token_id, current_user
from api.services import services
from api.v1 import blueprint
from api.v1.schemas import MeSchema

blp = blueprint("me", "The user a token belongs to.")


@blp.route("/me")
class Me(MethodView):
    """The token's user."""

    @blp.response(200, MeSchema)
    def get(self):
        """The user the request's token belongs to, with their limits and use of them."""
        svc, user = services(), current_user()
        config = svc.config
        try:
            usage = {"open_deliveries": svc.deliveries.open_count_for(user)}
        except RedisError:
            usage = None
        return {
            "user": user,
            "token_id": current_token_id(),
            "limits": {
                "requests_per_second": config.api_rate, "request_burst": config.api_burst,
                "recipients_per_send": config.max_recipients,
                "open_deliveries": config.max_open_deliveries,
            },
            "usage": usage,
        }
