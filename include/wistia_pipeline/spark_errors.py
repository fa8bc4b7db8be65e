"""One line for a failed Spark step: the root-cause exception and the file involved.

A Spark job's failure reaches the run's stored error in two ways: on AWS as the Glue run's
``ErrorMessage`` (the text of the exception the script raised), on the local target as the
last Python traceback in ``spark-submit``'s output. Either can be a Py4J error holding a Java
stack trace whose useful part is the last ``Caused by:`` line, far from the top. Both go
through :func:`summarize`:

- the Glue scripts run ``main()`` under :func:`concise_failure`, which re-raises any failure
  as :class:`SparkJobFailed` whose message is that one line (so Glue 5's ``ErrorMessage`` is);
- the local runner (:func:`wistia_pipeline.local_spark.run_glue_script`) reads the last
  traceback of the output with :func:`failure_in_output` (the same line, or the summary of an
  error raised before the scripts' wrapper ran).

The line keeps the name of a permanent error (``errors.PERMANENT_ERRORS``) so the
orchestrators still fail such a step without retries. Stdlib only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from urllib.parse import unquote

from wistia_pipeline.errors import permanent_name_in_text

MAX_LINE_CHARS = 1000

_CAUSED_BY = re.compile(r"^Caused by: (.+)$", re.MULTILINE)
# Spark's "Job aborted due to stage failure: ... most recent failure: Lost task 0.0 in stage
# 0.0 (TID 0) (host executor driver): java.io.EOFException: ..." names the task's own error.
_LOST_TASK = re.compile(r"most recent failure: Lost task [^\n]*?executor [^)\n]*\): (.+)$", re.M)
_URI = re.compile(
    r"(?:\b(?:s3[an]?|file|hdfs|gs|abfss?):/{1,3}|(?<![\w:/.])/)"  # a scheme, or an absolute path
    r"[^\s,;'\"()\[\]]*/(?:bronze|silver|gold|published)/[^\s,;'\"()\[\]]+"
)
_TRAILING = ".:"
# Python prints an exception as "package.module.Name: message"; the name alone says enough.
_QUALIFIED = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?::|$))")
_TRACEBACK = "Traceback (most recent call last):"
# Where a traceback's exception text ends in spark-submit's output: a log line (log4j's
# "26/12/01 12:55:06 INFO", Python logging's "2026-12-01 12:55:06,123 ...").
_LOG_LINE = re.compile(r"^\d{2,4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d:\d\d")


class SparkJobFailed(RuntimeError):
    """A Glue script failed; the message is :func:`summarize` of its failure (one line)."""


def file_of(text: str) -> str | None:
    """The lake file (bronze/silver/gold URI) ``text`` names last, as the lake names it:
    Spark's ``file:`` URLs become plain paths (``s3://`` stays as given); None if none."""
    found = [m.group(0).rstrip(_TRAILING) for m in _URI.finditer(text)]
    if not found:
        return None
    uri = found[-1]
    if uri.startswith("file:"):
        uri = "/" + unquote(uri[len("file:") :]).lstrip("/")
    return uri


def root_cause(text: str) -> str:
    """The root cause in an exception's text: a Java chain's last ``Caused by:``, else the
    failed task's error of a Spark job abort, else the text's first line."""
    for pattern in (_CAUSED_BY, _LOST_TASK):
        causes = pattern.findall(text)
        if causes:
            return causes[-1].strip()
    return text.strip().partition("\n")[0].strip()


def summarize(text: str) -> str:
    """One line for a failure described by ``text`` (an exception's name and message, maybe
    with a Java stack trace): the root cause, then the file involved when the root cause does
    not name it, and the permanent error named anywhere in the first line (kept in front)."""
    cause = _QUALIFIED.sub("", root_cause(text)).removeprefix(f"{SparkJobFailed.__name__}: ")
    permanent = permanent_name_in_text(text.strip())
    if permanent and permanent not in cause:
        cause = f"{permanent}: {cause}"
    uri = file_of(cause) or file_of(text)
    named = uri is None or uri in cause or unquote(uri) in unquote(cause)
    suffix = "" if named else f" (file {uri})"
    room = MAX_LINE_CHARS - len(suffix)
    if len(cause) > room:  # a long message is cut, the file after it kept
        cause = cause[: max(room - 3, 0)] + "..."
    return cause + suffix


def describe_exception(exc: BaseException) -> str:
    """:func:`summarize` of a raised exception: its class name and message (a Py4J error's
    message holds the Java stack trace, a captured Spark error's its own message)."""
    return summarize(f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def concise_failure() -> Iterator[None]:
    """Re-raise any failure of the block as :class:`SparkJobFailed` (one line, see
    :func:`describe_exception`), chained to the original for the full trace in the log."""
    try:
        yield
    except Exception as exc:
        raise SparkJobFailed(describe_exception(exc)) from exc


def failure_in_output(lines: Sequence[str]) -> str | None:
    """:func:`summarize` of the last Python traceback's exception in a job's output, or None
    when the output has no traceback (killed, or the JVM failed before Python ran)."""
    start = max((i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)), default=-1)
    if start < 0:
        return None
    block: list[str] = []
    for line in lines[start + 1 :]:
        if _LOG_LINE.match(line):
            break
        if block or (line and not line.startswith((" ", "\t"))):
            block.append(line)  # from the exception line on (frames before it are indented)
    return summarize("\n".join(block)) if block else None
