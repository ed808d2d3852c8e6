"""Named exceptions raised by library code; views and the CLI turn them into clear messages."""


class RepublisherError(Exception):
    """Base class for every error the service reports on purpose."""


class ConfigError(RepublisherError):
    """A setting is missing or malformed; the message names the setting."""


class FetchError(RepublisherError):
    """A feed could not be fetched; the message says why in one line."""

    retry_after = None  # seconds the server asked us to wait, when it said so


class BlockedAddressError(FetchError):
    """The URL's scheme or resolved address is not allowed (SSRF guard)."""


class FetchTimeoutError(FetchError):
    """The server did not answer within the connect, read or total deadline."""


class BodyTooLargeError(FetchError):
    """The (decompressed) body exceeded the configured cap."""


class TooManyRedirectsError(FetchError):
    """The redirect chain was longer than allowed or looped."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, status, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(RepublisherError):
    """The body is not a usable feed."""


class NotAFeedError(ParseError):
    """The body is empty, HTML, or otherwise not RSS/Atom."""


class SkippedEntriesWarning(ParseError):
    """Some entries of a feed could not be read and were left out; the others were kept.

    The parser reports it as the document's problem, a warning on the source, and never raises it.
    """


class UnsafeFeedError(ParseError):
    """The body uses XML features we refuse (entity declarations)."""


class WorkflowError(RepublisherError):
    """An editor action is not allowed for the item in its current state."""


class NotFoundError(RepublisherError):
    """A source, item or user that was asked for does not exist."""


class UnknownLicenseError(RepublisherError, ValueError):
    """A license id is not in the registry; the message names it."""


class SanitizeError(RepublisherError):
    """Content HTML could not be sanitized; the item is kept out of publishing."""


class BackupError(RepublisherError):
    """A backup could not be written or did not check out."""


class OpmlError(RepublisherError):
    """A subscription list could not be read; the message says why."""


class AccountError(RepublisherError, ValueError):
    """An account cannot be created or changed as asked (name, role or password not acceptable)."""


class LoginFailedError(RepublisherError):
    """The name or the password is wrong, or the account is disabled (the message never says which)."""


class LoginLockedError(LoginFailedError):
    """Too many failed logins: refused before the password is checked, until the lockout ends."""


class BudgetExceededError(FetchError):
    """One source's refresh used more CPU time, memory or wall-clock time than allowed and was stopped."""


class ExportError(RepublisherError):
    """The static export could not be built; the message says which page or file."""
