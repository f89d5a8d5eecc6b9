"""The request bodies of the API: every text field bounded and plain (:func:`hub.api.inputs.plain_text`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from hub.access import reads
from hub.api import inputs

Plain = AfterValidator(inputs.plain_text)
Name = Annotated[str, StringConstraints(max_length=64), Plain]
Text = Annotated[str, StringConstraints(max_length=2000), Plain]
Short = Annotated[str, StringConstraints(max_length=32), Plain]


class FilterIn(BaseModel):
    """One filter: ``field`` ``op`` ``value`` (ops: eq ne lt le gt ge in is_null)."""

    field: Name
    op: Name = "eq"
    value: Any = None


class QueryIn(BaseModel):
    """A paged query: granted fields (all granted when omitted), filters, keyset cursor."""

    fields: list[Name] | None = Field(None, max_length=200)
    filters: list[FilterIn] = Field([], max_length=20)
    after: Annotated[str, StringConstraints(max_length=4096), Plain] | None = Field(
        None, description="next_cursor of the previous page"
    )
    limit: int = Field(100, ge=1, le=reads.MAX_LIMIT)


class PersonIn(BaseModel):
    """Identity number and name to verify."""

    id_number: Short
    name: Name


class EntityIn(BaseModel):
    """A USCC to verify."""

    uscc: Short


class CertificateIn(BaseModel):
    """A 证照标识 to verify."""

    certificate_id: Annotated[str, StringConstraints(max_length=128), Plain]


class PrefillIn(BaseModel):
    """The applicant's identity number and the case (申办流水号) whose applicant they are."""

    id_number: Short
    case_no: Annotated[str, StringConstraints(min_length=1, max_length=64), Plain] = Field(
        description="a case in 640100-ZW-0001 whose applicant this is"
    )


class ApplicationIn(BaseModel):
    """An application for fields of a resource, with its purpose."""

    resource: Name
    fields: list[Name] = Field(max_length=200)
    unmasked: list[Name] = Field([], max_length=200)
    purpose: Text


class DecisionIn(BaseModel):
    """A provider's decision: approve (optionally until ``expires_at``) or refuse with ``reason``."""

    decision: Literal["approve", "refuse"]
    reason: Text = ""
    expires_at: dt.datetime | None = None


class ObjectionIn(BaseModel):
    """An objection on one record (``record_key``: the resource's key fields)."""

    resource: Name
    record_key: dict[Name, Annotated[str, StringConstraints(max_length=256), Plain]] = Field(max_length=10)
    field: Name | None = None
    claim: Text


class ResolutionIn(BaseModel):
    """The provider's answer; ``corrected`` when the source data was changed."""

    answer: Text
    corrected: bool
