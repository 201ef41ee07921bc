"""/api/v1/failed: deliveries that failed for good; send them again or dismiss them."""

from flask.views import MethodView

from api.auth import current_user
from api.errors import ApiError
from api.services import services
from api.v1 import blueprint
from api.v1.schemas import FailedSchema, RetriedSchema
from core.sending.record import resend_failed

blp = blueprint("failed", "Failed deliveries: list, send again, dismiss.")


def _not_found(delivery_id):
    return ApiError(404, f"No failed delivery with id {delivery_id!r}.")


@blp.route("/failed")
class Failed(MethodView):
    """The user's failed deliveries."""

    @blp.response(200, FailedSchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters):
        """Failed deliveries, newest first."""
        page = pagination_parameters
        store = services().failed
        page.item_count = store.count_for(current_user())
        if page.first_item >= page.item_count:
            # Past the last page (Redis refuses offsets beyond 64 bits).
            return []
        return store.list_for(current_user(), page.first_item, page.page_size)


@blp.route("/failed/retry")
class RetryAll(MethodView):
    """Every failed delivery, again."""

    @blp.response(202, RetriedSchema)
    def post(self):
        """Send every failed delivery of the user's again."""
        svc = services()
        return {"retried": resend_failed(svc, current_user(), svc.failed.ids_for(current_user()))}


@blp.route("/failed/<delivery:delivery_id>/retry")
class RetryOne(MethodView):
    """One failed delivery, again."""

    @blp.response(202, RetriedSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, delivery_id):
        """Send one failed delivery again."""
        retried = resend_failed(services(), current_user(), [delivery_id])
        if not retried:
            raise _not_found(delivery_id)
        return {"retried": retried}


@blp.route("/failed/<delivery:delivery_id>")
class FailedOne(MethodView):
    """One failed delivery."""

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, delivery_id):
        """Dismiss a failed delivery without sending it again."""
        if not services().failed.dismiss(current_user(), delivery_id):
            raise _not_found(delivery_id)
