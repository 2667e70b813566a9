"""Python client for the Tollgate resource API.

    from tollgate import Client
    with Client() as tg:              # TOLLGATE_API_KEY and TOLLGATE_ENDPOINT from the environment
        for resource in tg.iter_resources(type="machine"):
            print(resource.id, resource.name)
"""

from ._events import Event, EventPage
from ._events_async import AsyncEvents, AsyncEventStream
from ._events_sync import Events, EventStream
from ._operations import UNSET, batch_create, batch_delete, batch_update
from ._retry import RetryPolicy
from ._version import __version__
from .async_client import AsyncClient
from .client import Client
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    FieldError,
    GoneError,
    HeadersTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ServerError,
    TollgateError,
    UriTooLongError,
    ValidationError,
)
from .models import (
    AttributeRule,
    BatchItem,
    BatchResult,
    PartialResource,
    Resource,
    ResourcePage,
    ResourceStatus,
    ResourceType,
)

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncEventStream",
    "AsyncEvents",
    "AttributeRule",
    "AuthenticationError",
    "BatchItem",
    "BatchResult",
    "Client",
    "ConflictError",
    "Event",
    "EventPage",
    "EventStream",
    "Events",
    "FieldError",
    "GoneError",
    "HeadersTooLargeError",
    "NotFoundError",
    "PartialResource",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "Resource",
    "ResourcePage",
    "ResourceStatus",
    "ResourceType",
    "RetryPolicy",
    "ServerError",
    "TollgateError",
    "UNSET",
    "UriTooLongError",
    "ValidationError",
    "__version__",
    "batch_create",
    "batch_delete",
    "batch_update",
]
