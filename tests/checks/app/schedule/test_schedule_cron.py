from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from checks.app.schedule import WallClockCronTrigger, build_triggers, next_run_times
from checks.config import Config, ScheduleEntry, SourceConfig
from connectors.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")


def fires(trigger, start, count):
    out, prev = [], None
    for _ in range(count):
        # APScheduler's calling convention: previous fire time, and a "now" just after it.
        now = start if prev is None else prev + timedelta(microseconds=1)
        nxt = trigger.get_next_fire_time(prev, now)
        assert prev is None or nxt > prev, "a trigger must move forward"
        out.append(nxt)
        prev = nxt
    return out


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def cfg_with(*entries):
    return Config(source=SourceConfig(url="sqlite:///x.db"), entities={}, schedule=list(entries))


def test_daily_0230_on_spring_forward_night_runs_once_after_the_gap():
    t = WallClockCronTrigger("30 2 * * *", "Europe/Berlin")
    got = fires(t, datetime(2026, 3, 27, 12, tzinfo=BERLIN), 4)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2026, 3, 28, 1, 30),   # 02:30 CET
        utc(2026, 3, 29, 1, 30),   # 02:30 does not exist: 03:30 CEST
        utc(2026, 3, 30, 0, 30),   # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]
    assert got[1].astimezone(BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"


def test_daily_0230_on_fall_back_night_runs_once():
    t = WallClockCronTrigger("30 2 * * *", "Europe/Berlin")
    got = fires(t, datetime(2026, 10, 23, 12, tzinfo=BERLIN), 4)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # first 02:30 (CEST) only, not again at 02:30 CET
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]


def test_resuming_inside_the_repeated_hour_does_not_rerun_a_daily_job():
    t = WallClockCronTrigger("30 2 * * *", "Europe/Berlin")
    # 02:10 CET, in the second pass of the repeated hour, after the 02:30 CEST run.
    assert t.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 30)


def test_hourly_job_keeps_elapsed_time_through_both_dst_changes():
    t = WallClockCronTrigger("0 * * * *", "Europe/Berlin")
    autumn = fires(t, datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN), 6)
    assert autumn == [utc(2026, 10, 24, 23) + timedelta(hours=i) for i in range(6)]
    spring = fires(t, datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN), 4)
    assert [g.astimezone(UTC) for g in spring] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2),
                                                   utc(2026, 3, 29, 3)]
    # a whole fall-back day has 25 hourly runs, a spring-forward day 23
    day = [f for f in fires(t, datetime(2026, 10, 24, 23, 59, tzinfo=BERLIN), 30) if f.astimezone(BERLIN).day == 25]
    assert len(day) == 25
    day = [f for f in fires(t, datetime(2026, 3, 28, 23, 59, tzinfo=BERLIN), 30) if f.astimezone(BERLIN).day == 29]
    assert len(day) == 23


def test_quarter_hourly_through_the_repeated_hour_runs_every_15_elapsed_minutes():
    t = WallClockCronTrigger("*/15 * * * *", "Europe/Berlin")
    got = fires(t, datetime(2026, 10, 25, 1, 50, tzinfo=BERLIN), 10)
    assert [g.astimezone(UTC) for g in got] == [utc(2026, 10, 25, 0, 0) + timedelta(minutes=15 * i) for i in range(10)]
    got = fires(t, datetime(2026, 3, 29, 1, 50, tzinfo=BERLIN), 6)
    assert [g.astimezone(UTC) for g in got] == [utc(2026, 3, 29, 1, 0) + timedelta(minutes=15 * i) for i in range(6)]


def test_fixed_time_in_repeated_hour_with_minutes_list():
    t = WallClockCronTrigger("0,45 2 * * *", "Europe/Berlin")
    got = fires(t, datetime(2026, 10, 24, 12, tzinfo=BERLIN), 3)
    assert [g.astimezone(UTC) for g in got] == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 45),
                                                utc(2026, 10, 26, 1, 0)]


def test_crontab_weekday_numbers_mean_sunday_zero():
    t = WallClockCronTrigger("0 9 * * 1-5", "UTC")
    got = fires(t, utc(2026, 11, 21, 12), 6)  # Saturday
    assert [g.strftime("%a %d") for g in got] == ["Mon 23", "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Mon 30"]
    assert fires(WallClockCronTrigger("0 9 * * 0", "UTC"), utc(2026, 11, 23), 1)[0].strftime("%a") == "Sun"
    assert fires(WallClockCronTrigger("0 9 * * 7", "UTC"), utc(2026, 11, 23), 1)[0].strftime("%a") == "Sun"
    assert fires(WallClockCronTrigger("0 9 * * sat", "UTC"), utc(2026, 11, 23), 1)[0].strftime("%a") == "Sat"


def test_six_fields_start_with_seconds():
    t = WallClockCronTrigger("*/5 * * * * *", "UTC")
    assert fires(t, utc(2026, 1, 1, 0, 0, 1), 3) == [utc(2026, 1, 1, 0, 0, 5), utc(2026, 1, 1, 0, 0, 10),
                                                     utc(2026, 1, 1, 0, 0, 15)]


def test_last_at_or_before():
    t = WallClockCronTrigger("30 2 * * *", "Europe/Berlin")
    assert t.last_at_or_before(utc(2026, 10, 25, 12)) == utc(2026, 10, 25, 0, 30)
    assert t.last_at_or_before(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 0, 30)
    assert t.last_at_or_before(utc(2026, 10, 25, 0, 29)) == utc(2026, 10, 24, 0, 30)
    assert WallClockCronTrigger("0 0 1 1 *", "UTC").last_at_or_before(utc(2026, 6, 1)) == utc(2026, 1, 1)
    assert WallClockCronTrigger("* * * * * *", "UTC").last_at_or_before(utc(2026, 6, 1, 0, 0, 0, 500)) == utc(2026, 6, 1)


def test_next_run_times_in_each_schedule_timezone():
    cfg = cfg_with(ScheduleEntry(name="nightly", cron="30 2 * * *", timezone="Europe/Berlin"),
                   ScheduleEntry(name="contacts", cron="0 */6 * * *", timezone="America/New_York", only=["contact"]))
    got = next_run_times(cfg, utc(2026, 3, 28, 12))
    assert got["nightly"].isoformat() == "2026-03-29T03:30:00+02:00"
    assert got["contacts"].isoformat() == "2026-03-28T12:00:00-04:00"
    # naive "now" means UTC
    assert next_run_times(cfg, datetime(2026, 3, 28, 12)) == got


def test_bad_cron_timezone_and_duplicate_names_are_reported_together():
    cfg = cfg_with(ScheduleEntry(name="a", cron="61 * * * *"), ScheduleEntry(name="b", cron="0 1 * * *", timezone="Mars/Base"),
                   ScheduleEntry(name="a", cron="0 1 * * *"), ScheduleEntry(name="c", cron="0 1 * *"))
    with pytest.raises(ConfigError) as err:
        build_triggers(cfg)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("schedule[0] (a).cron: '61 * * * *' is not a valid cron expression")
    assert lines[1].startswith("schedule[1] (b).timezone: unknown timezone 'Mars/Base'")
    assert lines[2].startswith("schedule[2] (a).name: duplicate")
    assert lines[3].startswith("schedule[3] (c).cron") and "give five" in lines[3]
