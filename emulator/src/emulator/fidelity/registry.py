"""`SchemaRegistry`: the public entry point that validates Graph payloads against the packaged schemas."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from emulator.fidelity.endpoints import resolve_endpoint
from emulator.fidelity.issues import ValidationIssue
from emulator.fidelity.schema import SchemaModel
from emulator.fidelity.validator import PayloadValidator


class SchemaRegistry:
    """Graph v1.0 types (from `emulator/schemas/graph`) and validation of payloads against them."""

    def __init__(self, model: SchemaModel) -> None:
        self.model = model

    @classmethod
    def load(cls, directory: Traversable | None = None) -> SchemaRegistry:
        """Load the packaged schema summaries (or every `*.json` in `directory`)."""
        return cls(SchemaModel.from_directory(directory))

    def __contains__(self, type_name: object) -> bool:
        return type_name in self.model

    def validate(
        self, payload: object, type_name: str, *, include_unknown_enum_members: bool
    ) -> list[ValidationIssue]:
        """All deviations of one entity or complex instance declared as `type_name`."""
        validator = self._validator(include_unknown_enum_members)
        validator.structured_value(payload, self.model.structured(type_name).name, "")
        return validator.issues

    def validate_collection(
        self, payload: object, type_name: str, *, include_unknown_enum_members: bool
    ) -> list[ValidationIssue]:
        """All deviations of a collection response whose `value` items are `type_name`."""
        validator = self._validator(include_unknown_enum_members)
        validator.collection_response(payload, self.model.structured(type_name).name)
        return validator.issues

    def validate_response(
        self, url: str, payload: object, *, include_unknown_enum_members: bool
    ) -> list[ValidationIssue]:
        """All deviations of the JSON body Graph would return for GET `url` (see `ENTITY_SETS`).

        Navigation properties are allowed only when the URL's `$expand` names them, as at Graph.
        """
        endpoint = resolve_endpoint(self.model, url)
        validator = self._validator(include_unknown_enum_members)
        if endpoint.is_collection:
            validator.collection_response(payload, endpoint.type_name, expanded=endpoint.expanded)
        else:
            validator.structured_value(payload, endpoint.type_name, "", expanded=endpoint.expanded)
        return validator.issues

    def _validator(self, include_unknown_enum_members: bool) -> PayloadValidator:
        return PayloadValidator(self.model, include_unknown_enum_members=include_unknown_enum_members)
