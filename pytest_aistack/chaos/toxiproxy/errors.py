"""API errors with upstream's messages and status codes (toxiproxy ``api.go``).

Every error body is ``{"error": "<message>", "status": <code>}``. Messages are the
upstream ones so that clients matching on them work against both servers.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error the HTTP API reports with a status code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def joined(self, detail: str) -> ApiError:
        """``"<message>: <detail>"`` with this error's status (upstream ``joinError``)."""
        return ApiError(f"{self.message}: {detail}", self.status)

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)


def internal(message: str) -> ApiError:
    """An error without its own status is a 500 carrying the OS/runtime text (``api.go``)."""
    return ApiError(message, 500)
