"""JSONata for the Step Functions interpreter: jsonata-python in place of moto's missing engine.

moto's interpreter (a port of LocalStack's) prepares every JSONata expression itself: it binds
``$states`` (input, context, result, errorOutput), the state machine's variables and the
Step Functions extras (``$partition``, ``$range``, ...) as declarations in front of the
expression, ``($states := {...}; <expression>)``, and hands the text to
``eval_jsonata_expression``, which in moto 5.2.5 has no engine behind it (LocalStack runs a JVM
jsonata). :func:`evaluate` is that engine: `jsonata-python <https://pypi.org/project/jsonata-python/>`_
(a port of jsonata-java), with the result made JSON the way Step Functions' JavaScript engine
makes it (a whole number has no fraction; a sequence is a list).

The reference is the npm ``jsonata`` package Step Functions documents (tests/stepfunctions);
``tests/awslocal/test_stepfunctions.py`` runs the twin's ``Prepare`` expression through both and
compares. Every function the twin uses (``$exists``, ``$toMillis``, ``$fromMillis`` with
pictures, ``$now``, ``$millis``) is built into jsonata-python; :data:`EXTRA_FUNCTIONS` is where a
missing one would be added (registered on each expression, not written into the definition).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonata

# name (without "$") -> Python implementation; registered on every expression.
EXTRA_FUNCTIONS: dict[str, Callable[..., Any]] = {}
# jsonata-python lets some Python errors out of its functions where jsonata-js raises a JSONata
# error; the codes jsonata-js gives for them (by the jsonata-python function that raised).
PYTHON_ERROR_CODES = {
    "number": "D3030",  # $number('x'): unable to cast value to a number
    "datetime_to_millis": "D3110",  # $toMillis('x'): not an ISO 8601 timestamp
}
_FUNCTIONS_FILE = Path(jsonata.functions.__file__).resolve()
# Beyond 2**53 a JavaScript number is no longer an exact integer; keep those as floats.
_MAX_SAFE = 2**53


class JSONataEvaluationError(Exception):
    """A JSONata error (code and message as jsonata-python reports them)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


def to_json(value: Any) -> Any:
    """``value`` as the JSON Step Functions' engine would give (floats that are whole -> int)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < _MAX_SAFE:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    # A function or another non-JSON value: Step Functions rejects it as an unsupported type;
    # moto's validation checks $type() of the expression for that.
    return value


def evaluate(expression: str, bindings: dict[str, Any] | None = None) -> Any:
    """Evaluate ``expression`` (no input document; ``$states`` etc. are declared in the text).

    ``None`` stands for JSONata's *undefined*. Raises :class:`JSONataEvaluationError`.
    """
    try:
        expr = jsonata.Jsonata(expression)
        for name, function in EXTRA_FUNCTIONS.items():
            expr.register_lambda(name, function)
        result = expr.evaluate(None, bindings)
    except jsonata.JException as exc:
        raise JSONataEvaluationError(str(getattr(exc, "error", "") or ""), str(exc)) from None
    except RecursionError:
        raise JSONataEvaluationError("U1001", "stack overflow evaluating the expression") from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise JSONataEvaluationError(_code_of(exc), str(exc)) from None
    return to_json(result)


def _code_of(exc: BaseException) -> str:
    """The jsonata-js error code of a Python error raised in a jsonata-python function."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == _FUNCTIONS_FILE:
            return PYTHON_ERROR_CODES.get(frame.name, "")
    return ""
