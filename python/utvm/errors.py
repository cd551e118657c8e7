"""The one exception type that utvm shows to users as a plain message."""


class UtvmError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do.

    The command line prints it as ``error: <message>`` and exits with status 2,
    without a traceback. Raise it for bad input, missing tools or failed builds;
    let genuine bugs surface as ordinary exceptions.
    """
