"""/api/v1/contacts: the user's contact book, one resource per contact."""

from flask import request
from flask.views import MethodView
from marshmallow import ValidationError

from api.auth import current_user
from api.errors import ApiError
from api.fields import name_field
from api.services import services
from api.v1 import blueprint
from api.v1.schemas import ContactIdsSchema, ContactSchema

blp = blueprint("contacts", "The user's contacts: a name and an ID per messenger.")


def _not_found(name):
    return ApiError(404, f"No contact named {name!r}.")


@blp.route("/contacts")
class Contacts(MethodView):
    """The whole contact book."""

    @blp.response(200, ContactSchema(many=True))
    def get(self):
        """Every contact, in the order added."""
        book = services().contacts.all(current_user())
        return [{"name": name, **ids} for name, ids in book.items()]

    @blp.arguments(ContactSchema)
    @blp.response(201, ContactSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, contact):
        """Add a contact; 409 if one of that name exists."""
        name = contact.pop("name")
        if not services().contacts.create(current_user(), name, contact):
            raise ApiError(409, f"A contact named {name!r} exists; PUT /contacts/{{name}} replaces it.",
                           {"json": {"name": ["A contact of this name exists."]}})
        return {"name": name, **contact}


@blp.route("/contacts/<contact:name>", merge_slashes=False)
class Contact(MethodView):
    """One contact, by its (URL-encoded) name."""

    @blp.response(200, ContactSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name):
        """One contact."""
        ids = services().contacts.get(current_user(), name)
        if ids is None:
            raise _not_found(name)
        return {"name": name, **ids}

    @blp.arguments(ContactIdsSchema)
    @blp.response(200, ContactSchema)
    def put(self, ids, name):
        """Create the contact, or replace its IDs."""
        # Every ID is optional, so only this tells a forgotten body from "no messengers".
        if not isinstance(request.get_json(silent=True), dict):
            raise ApiError(400, "The request body must be a JSON object of messenger IDs.",
                           {"json": ["Missing or not a JSON object."]})
        try:
            name_field().deserialize(name)
        except ValidationError as exc:
            raise ApiError(422, f"Invalid contact name: {' '.join(exc.messages)}",
                           {"path": {"name": exc.messages}}) from None
        services().contacts.add(current_user(), name, ids)
        return {"name": name, **ids}

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, name):
        """Remove the contact."""
        if not services().contacts.remove(current_user(), name):
            raise _not_found(name)
