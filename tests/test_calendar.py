import datetime as dt

import pytest

from evalkit.calendar import (HolidayCalendar, add_business_days, business_days_between, is_business_day,
                              next_business_day, us_federal_holidays)

D = dt.date


def test_federal_holidays_2026_observed_dates():
    assert us_federal_holidays(2026) == {
        D(2026, 1, 1), D(2026, 1, 19), D(2026, 2, 16), D(2026, 5, 25), D(2026, 6, 19), D(2026, 7, 3),
        D(2026, 9, 7), D(2026, 10, 12), D(2026, 11, 11), D(2026, 11, 26), D(2026, 12, 25)}


def test_new_year_on_saturday_is_observed_on_the_friday_before():
    # 1 January 2028 is a Saturday: observed Friday 31 December 2027.
    assert D(2027, 12, 31) in us_federal_holidays(2027)
    assert not is_business_day(D(2027, 12, 31))


def test_receipt_just_before_thanksgiving():
    wednesday = D(2026, 11, 25)
    assert add_business_days(wednesday, 1) == D(2026, 11, 27)  # Thursday is Thanksgiving
    assert add_business_days(wednesday, 2) == D(2026, 11, 30)  # then the weekend
    # 30 business days skip Thanksgiving, Christmas and New Year's Day (a Friday in 2027): 1 + 5 + 5 + 5 + 4
    # + 4 + 5 = 29 by Friday 8 January, so the notification is due Monday 11 January.
    assert add_business_days(wednesday, 30) == D(2027, 1, 11)


def test_weekend_or_holiday_receipt_counts_from_next_business_day():
    assert add_business_days(D(2026, 11, 28), 1) == add_business_days(D(2026, 11, 30), 1) == D(2026, 12, 1)
    assert add_business_days(D(2026, 11, 26), 0) == D(2026, 11, 27)
    assert next_business_day(D(2026, 12, 25)) == D(2026, 12, 28)


def test_negative_counts_go_back():
    assert add_business_days(D(2026, 11, 30), -1) == D(2026, 11, 27)
    assert add_business_days(D(2026, 11, 30), -2) == D(2026, 11, 25)


@pytest.mark.parametrize("start", [D(2026, 11, 20) + dt.timedelta(days=k) for k in range(45)])
@pytest.mark.parametrize("n", [0, 1, 3, 5, 17, 30, 60])
def test_counting_inverts_adding(start, n):
    assert business_days_between(start, add_business_days(start, n)) == n


def test_between_is_signed():
    assert business_days_between(D(2026, 11, 30), D(2026, 11, 20)) == -5


def test_custom_calendar_replaces_or_extends_federal():
    only = [D(2026, 11, 27)]
    assert add_business_days(D(2026, 11, 25), 1, holidays=only) == D(2026, 11, 26)  # Thanksgiving not listed
    extended = HolidayCalendar(extra=only)
    assert add_business_days(D(2026, 11, 25), 1, holidays=extended) == D(2026, 11, 30)


@pytest.mark.parametrize("bad", ["2026-13-01", "soon", None, 20261124])
def test_bad_dates_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match="is not a date"):
        add_business_days(bad, 1)


def test_non_integer_count_refused():
    with pytest.raises(ValueError, match="not an integer"):
        add_business_days(D(2026, 1, 5), 1.5)
