"""checked_reason: the one rule for a person's free text given for an action (a reason, grounds, a subject line)."""
import pytest

from evalkit.messages import checked_reason


class Refused(ValueError):
    pass


@pytest.mark.parametrize("value, kwargs, expected", [
    ("  complaint under investigation ", {}, "complaint under investigation"),
    ("line one\n  line two\n", {}, "line one\n  line two"),  # "keep": the ends only
    ("verified\n  by\tphone ", {"line_breaks": "join"}, "verified by phone"),
    ("Your\tresult ", {"line_breaks": "refuse"}, "Your\tresult"),  # a tab is not a line break
    (None, {"required": False}, None),
    ("  ", {"required": False}, None),
    ("x" * 10, {"max_length": 10}, "x" * 10),
])
def test_accepted_text_comes_back_stripped(value, kwargs, expected):
    assert checked_reason(value, "the reason", Refused, **kwargs) == expected


@pytest.mark.parametrize("value, kwargs, message", [
    (None, {}, "the reason is empty; expected text"),
    (" \n ", {}, "the reason is empty; expected text"),
    ("", {"line_breaks": "refuse"}, "the reason is empty; expected one line of text"),
    ("", {"empty": "a reason is required to suspend certificate 1"}, "a reason is required to suspend certificate 1"),
    (None, {"empty": "an extension needs a reason"}, "an extension needs a reason"),
    (5, {}, "the reason is 5; expected text"),
    (b"bytes", {"required": False}, "the reason is b'bytes'; expected text"),
    ("x" * 2001, {}, "the reason is 2,001 characters long; expected at most 2,000"),
    ("x" * 501, {"max_length": 500, "line_breaks": "join"},
     "the reason is 501 characters long; expected at most 500"),
    ("a\r\nBcc: x@example.org", {"line_breaks": "refuse"},
     "the reason 'a\\r\\nBcc: x@example.org' is not one line (it holds a line break or a control character)"),
    ("trailing\n", {"line_breaks": "refuse"}, "is not one line"),  # refused before the ends are stripped
    ("nul\x00", {"line_breaks": "refuse", "required": False}, "is not one line"),
])
def test_refused_text_raises_the_callers_error_in_one_line(value, kwargs, message):
    with pytest.raises(Refused) as refused:
        checked_reason(value, "the reason", Refused, **kwargs)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert type(refused.value) is Refused


def test_an_unknown_line_break_rule_is_a_programming_error():
    with pytest.raises(ValueError, match="line_breaks is 'strip'; expected one of keep, join, refuse"):
        checked_reason("x", "the reason", Refused, line_breaks="strip")


def test_the_callers_keep_their_wording():
    from evalkit.certification.certificates import ResultError, _reason
    from evalkit.evaluation.admission import override_reason
    from evalkit.evaluation.errors import WorkflowError

    assert override_reason(None) is None
    assert override_reason(" verified by\nphone ") == "verified by phone"
    with pytest.raises(WorkflowError, match="^the override reason is empty; say why the candidate is admitted$"):
        override_reason("  ")
    with pytest.raises(WorkflowError, match="^the override reason is 501 characters long; expected at most 500$"):
        override_reason("x" * 501)
    with pytest.raises(WorkflowError, match=r"^the override reason is 5; expected text$"):
        override_reason(5)
    with pytest.raises(ResultError, match="^a reason is required to suspend certificate N-1$"):
        _reason(None, "suspend certificate N-1")
    assert _reason("  ", "recertify certificate N-1", required=False) is None
    with pytest.raises(ResultError, match="^the reason to suspend certificate N-1 is 2,001 characters long; "
                                          "expected at most 2,000$"):
        _reason("x" * 2001, "suspend certificate N-1")
