"""The project's own errors: causes a user can fix (bad data, a missing input or source, a judge
that fails too often). A stage's entry point prints their message and exits 2 without a traceback
(``KARDIA_DEBUG=1`` shows it); any other exception is a bug and keeps its traceback."""


class KardiaError(Exception):
    """Base of the errors whose message names the cause and the fix."""
