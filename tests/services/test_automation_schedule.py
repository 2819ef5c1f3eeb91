"""The scheduler's arithmetic: the next due time of each schedule, UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from services.automation import next_due

# A Wednesday.
NOW = datetime(2026, 11, 25, 10, 20, 30, tzinfo=UTC)


def test_hourly_runs_at_the_times_minute_every_hour() -> None:
    assert next_due({"frequency": "hourly", "time": "00:15"}, NOW) == datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
    assert next_due({"frequency": "hourly", "time": "07:45"}, NOW) == datetime(2026, 11, 25, 10, 45, tzinfo=UTC)


def test_daily_runs_today_if_the_time_is_still_ahead_else_tomorrow() -> None:
    assert next_due({"frequency": "daily", "time": "18:00"}, NOW) == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert next_due({"frequency": "daily", "time": "10:20"}, NOW) == datetime(2026, 11, 26, 10, 20, tzinfo=UTC)


def test_weekly_runs_on_the_weekday_at_the_time() -> None:
    monday = {"frequency": "weekly", "weekday": 0, "time": "03:00"}
    assert next_due(monday, NOW) == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    wednesday_later = {"frequency": "weekly", "weekday": 2, "time": "12:00"}
    assert next_due(wednesday_later, NOW) == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    wednesday_past = {"frequency": "weekly", "weekday": 2, "time": "09:00"}
    assert next_due(wednesday_past, NOW) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_the_next_due_time_is_strictly_after_the_one_given() -> None:
    due = next_due({"frequency": "daily", "time": "03:00"}, NOW)
    assert next_due({"frequency": "daily", "time": "03:00"}, due) == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
