"""Every malformed config: exit 2 and exactly one line naming the file and the key, never a traceback.

The table is the contract an operator relies on; a row is (TOML text, the line after ``FILE: ``).
Cases with environment overrides sit in their own table (the env var names the same key).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DoctorWith

MS = "[[report.milestones]]\n"
EMAIL = "[email]\nhost = 'smtp'\nfrom = 'a@b.c'\nto = ['a@b.c']\n"
CYR_30 = "я" * 30  # 60 bytes: "<name> at" is 63, the most Postgres keeps
CYR_31 = "я" * 31
EXCEL_CASE = "differ only in case, and Excel compares column names ignoring case"
CLEARTEXT = "use https:// (or set amocrm.allow_insecure = true for a trusted private network)"
METADATA = "points at a link-local or cloud-metadata address"
NO_QUERY = (
    "must not have a query string or fragment, just the account's root like https://mycompany.amocrm.ru"
)
AT_LEAST_1M = "must be at least 1m (more often only spends amoCRM's rate limit)"
DURATION = "must be a duration like 30s, 15m, 1h, 2d or 1w"
NOT_AN_ID = "is not an amoCRM id (ids are 1 to 9223372036854775807)"

CASES: list[tuple[str, str]] = [
    # types and ranges
    ('[report]\nweeks = "twelve"\n', "report.weeks: must be an integer"),
    ("[report]\nweeks = 0\n", "report.weeks: must be at least 1"),
    ("[report]\nweeks = 521\n", "report.weeks: must be at most 520"),
    ("[report]\nweeks = 1.5\n", "report.weeks: must be a whole number"),
    ("[report]\nweeks = 1e400\n", "report.weeks: must be a finite number"),
    ("report = 5\n", "report: must be a table"),
    ("[report]\nmilestones = 'a'\n", "report.milestones: must be a list"),
    ("[amocrm]\ntokn = 'x'\n", "amocrm.tokn: unknown key"),
    ("[amocrm]\nrequests_per_second = 0\n", "amocrm.requests_per_second: must be greater than 0"),
    ("[amocrm]\nrequests_per_second = 51\n", "amocrm.requests_per_second: must be at most 50"),
    ("[amocrm]\nrequests_per_second = nan\n", "amocrm.requests_per_second: must be a finite number"),
    ("[amocrm]\ntimeout_s = inf\n", "amocrm.timeout_s: must be a finite number"),
    ("[amocrm]\nbackoff_factor_s = inf\n", "amocrm.backoff_factor_s: must be a finite number"),
    ("[amocrm]\nmax_in_flight = 0\n", "amocrm.max_in_flight: must be at least 1"),
    ("[amocrm]\nmax_attempts = 21\n", "amocrm.max_attempts: must be at most 20"),
    ("[amocrm]\nleads_overlap = -5\n", "amocrm.leads_overlap: must not be negative"),
    ("[amocrm]\nevents_overlap = '10 minutes'\n", f"amocrm.events_overlap: {DURATION}"),
    ("[report]\nanomaly_min_leads = 0\n", "report.anomaly_min_leads: must be at least 1"),
    ("[report]\nmature_after_days = 0\n", "report.mature_after_days: must be at least 1"),
    ("[report]\nforecast_history_weeks = 2\n", "report.forecast_history_weeks: must be at least 4"),
    ("[report]\nage_days = [7, -1]\n", "report.age_days: every age must be a positive number of days"),
    ("[report]\nage_days = [7, 7]\n", "report.age_days: must not repeat an age"),
    (
        "[report]\nage_days = [99999999999]\n",
        "report.age_days: every age must be at most 3650 days (10 years)",
    ),
    ("[report]\nage_days = 'x'\n", "report.age_days: must be a list"),
    ("[report]\npipelines = [[1]]\n", "report.pipelines: must hold pipeline names or ids, not [1]"),
    ("[report]\npipelines = [0]\n", f"report.pipelines: 0 {NOT_AN_ID}"),
    (
        "[report]\ncsv_dialect = 'excel'\n",
        "report.csv_dialect: must be one of 'auto', 'excel-ru' or 'plain'",
    ),
    (
        "[service]\nlog_level = 'loud'\n",
        "service.log_level: must be one of 'debug', 'info', 'warning' or 'error'",
    ),
    ("[service]\ndata_dir = ''\n", "service.data_dir: must not be empty"),
    (
        '[service]\ndata_dir = "a\\u0000b"\n',
        "service.data_dir: must not contain control characters (found U+0000)",
    ),
    (
        '[report]\nout_dir = "out\\nput"\n',
        "report.out_dir: must not contain control characters (found U+000A)",
    ),
    (
        "[report]\ntimezone = 'Mars/Olympus'\n",
        "report.timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Moscow)",
    ),
    # schedule
    ("[schedule]\nsync_every = 'often'\n", f"schedule.sync_every: {DURATION}"),
    ("[schedule]\nsync_every = '30s'\n", f"schedule.sync_every: {AT_LEAST_1M}"),
    ("[schedule]\nsync_every = '0m'\n", f"schedule.sync_every: {AT_LEAST_1M}"),
    ("[schedule]\nsync_every = 59\n", f"schedule.sync_every: {AT_LEAST_1M}"),
    ("[schedule]\nsync_every = -3600\n", f"schedule.sync_every: {AT_LEAST_1M}"),
    ("[schedule]\nsync_every = '99999999999999w'\n", "schedule.sync_every: is too long a duration"),
    ("[schedule]\ncatchup_grace = -1\n", "schedule.catchup_grace: must not be negative"),
    (
        "[schedule]\nreport_cron = '0 7 mon'\n",
        "schedule.report_cron: must be a 5-field cron expression, e.g. '0 7 * * mon'",
    ),
    (
        "[schedule]\nreport_cron = '61 7 * * mon'\n",
        "schedule.report_cron: '61 7 * * mon' is not a valid cron expression (Error validating expression"
        " '61': the last value (61) is higher than the maximum value (59))",
    ),
    (
        "[schedule]\nreport_cron = '0 7 * * 9'\n",
        "schedule.report_cron: '0 7 * * 9' is not a valid cron expression (day of week '9' out of range 0-7)",
    ),
    (
        "[schedule]\nreport_cron = '0 7 * * funday'\n",
        "schedule.report_cron: '0 7 * * funday' is not a valid cron expression"
        ' (Invalid weekday name "funday")',
    ),
    # milestones and dimensions
    (
        MS
        + "name='a'\nstatuses=['x']\n"
        + MS
        + "name='b'\nstatuses=['y']\n"
        + MS
        + "name='c'\nstatuses=[]\n",
        "report.milestones[2].statuses: must not be empty",
    ),
    (MS + "statuses=['x']\n", "report.milestones[0].name: required"),
    (MS + "name = ''\nstatuses = [1]\n", "report.milestones[0].name: must not be empty"),
    (
        MS + "name = 'a'\nstatuses = ['  ']\n",
        "report.milestones[0].statuses: must not contain empty status names",
    ),
    (
        MS + "name = 'a'\nstatuses = [1.5]\n",
        "report.milestones[0].statuses: must hold status names or ids, not 1.5",
    ),
    (
        MS + "name = 'a'\nstatuses = [true]\n",
        "report.milestones[0].statuses: must hold status names or ids, not true",
    ),
    (MS + "name = 'a'\nstatuses = [-142]\n", f"report.milestones[0].statuses: -142 {NOT_AN_ID}"),
    (
        MS + "name = 'a'\nstatuses = [9223372036854775808]\n",
        f"report.milestones[0].statuses: 9223372036854775808 {NOT_AN_ID}",
    ),
    (
        MS + "name = 'paid at'\nstatuses = [142]\n",
        "report.milestones[0].name: must not end with ' at' or contain [ ] ' \" # (it becomes a column name)",
    ),
    (
        MS + f"name = '{CYR_31}'\nstatuses = [142]\n",
        f"report.milestones[0].name: is too long: its column '{CYR_31} at' takes 65 bytes of UTF-8 and a"
        " Postgres column name at most 63 (a Cyrillic letter takes 2)",
    ),
    (
        "[[report.dimensions]]\nname = '" + "я" * 32 + "'\nfield = 'x'\n",
        "report.dimensions[0].name: is too long: it takes 64 bytes of UTF-8 and a Postgres column name"
        " at most 63 (a Cyrillic letter takes 2)",
    ),
    (
        MS + 'name = "paid\\u0007"\nstatuses = [142]\n',
        "report.milestones[0].name: must not contain control characters (found U+0007)",
    ),
    (
        "[[report.dimensions]]\nname = \"src\\u202Eeci\"\nfield = 'x'\n",
        "report.dimensions[0].name: must not contain control characters (found U+202E)",
    ),
    (
        "[[report.dimensions]]\nname = \"a\\tb\"\nfield = 'x'\n",
        "report.dimensions[0].name: must not contain control characters (found U+0009)",
    ),
    ("[[report.dimensions]]\nname = 'a'\n", "report.dimensions[0].field: required"),
    (
        MS + "name = 'Target'\nstatuses = [1]\n" + MS + "name = 'target'\nstatuses = [142]\n",
        "report.milestones[1].name: 'target' clashes with report.milestones[0].name ('Target'): the columns"
        f" 'target' and 'Target' {EXCEL_CASE}",
    ),
    (
        MS + "name = 'Лид'\nstatuses = [1]\n[[report.dimensions]]\nname = 'ЛИД'\nfield = 'x'\n",
        "report.dimensions[0].name: 'ЛИД' clashes with report.milestones[0].name ('Лид'): the columns"
        f" 'ЛИД' and 'Лид' {EXCEL_CASE}",
    ),
    (
        MS + "name = 'a'\nstatuses = [1]\n" + MS + "name = 'a %'\nstatuses = [142]\n",
        "report.milestones[1].name: 'a %' and report.milestones[0].name ('a') both make the column 'a %'",
    ),
    (
        MS + "name = 'paid'\nstatuses = [1]\n" + MS + "name = 'Paid Forecast'\nstatuses = [142]\n",
        "report.milestones[1].name: 'Paid Forecast' clashes with report.milestones[0].name ('paid'): the"
        f" columns 'Paid Forecast' and 'paid forecast' {EXCEL_CASE}",
    ),
    (
        MS + "name = 'paid'\nstatuses = [142]\n[[report.dimensions]]\nname = 'Paid At'\nfield = 'x'\n",
        "report.dimensions[0].name: 'Paid At' clashes with report.milestones[0].name ('paid'): the columns"
        f" 'Paid At' and 'paid at' {EXCEL_CASE}",
    ),
    (
        "[[report.dimensions]]\nname = 'utm source'\nfield = 'x'\n[[report.dimensions]]\nname = 'UTM_source'"
        "\nfield = 'y'\n",
        "report.dimensions[1].name: 'UTM_source' and report.dimensions[0].name ('utm source') would both be"
        " written to by_utm_source.csv",
    ),
    (
        MS + "name='a'\nstatuses=[1]\n[[report.dimensions]]\nname='a'\nfield='X'\n",
        "report.dimensions[0].name: repeats report.milestones[0].name; names must be unique",
    ),
    (
        MS + "name='a'\nstatuses=[1]\n[[report.targets]]\nmilestone='b'\ntarget=0.5\n",
        "report.targets[0].milestone: unknown milestone 'b' (a)",
    ),
    (
        MS + "name='a'\nstatuses=[1]\n[[report.targets]]\nmilestone='a'\ntarget=nan\n",
        "report.targets[0].target: must be a finite number",
    ),
    (
        MS + "name='a'\nstatuses=[1]\n[[report.targets]]\nmilestone='a'\ntarget=1.5\n",
        "report.targets[0].target: must be at most 1",
    ),
    # amoCRM connection
    (
        "[amocrm]\nsubdomain = 'My Company'\n",
        "amocrm.subdomain: must be the account's subdomain, e.g. 'mycompany' for mycompany.amocrm.ru",
    ),
    (
        "[amocrm]\nbase_url = 'ftp://x'\n",
        "amocrm.base_url: must be an http(s) URL such as https://mycompany.amocrm.ru",
    ),
    (
        "[amocrm]\nbase_url = 'https://'\n",
        "amocrm.base_url: must be an http(s) URL such as https://mycompany.amocrm.ru",
    ),
    (
        "[amocrm]\nbase_url = 'https://a b.ru'\n",
        "amocrm.base_url: must not contain spaces or control characters",
    ),
    (
        "[amocrm]\nbase_url = 'https://x.amocrm.ru:70000'\n",
        "amocrm.base_url: has an invalid port (use 1-65535)",
    ),
    ("[amocrm]\nbase_url = 'https://x.amocrm.ru/?debug=1'\n", f"amocrm.base_url: {NO_QUERY}"),
    ("[amocrm]\nbase_url = 'https://x.amocrm.ru/#top'\n", f"amocrm.base_url: {NO_QUERY}"),
    (
        "[amocrm]\nbase_url = 'http://169.254.169.254'\n",
        f"amocrm.base_url: {METADATA} (169.254.169.254), not at amoCRM",
    ),
    (
        "[amocrm]\nbase_url = 'https://2852039166/'\n",
        f"amocrm.base_url: {METADATA} (2852039166), not at amoCRM",
    ),
    (
        "[amocrm]\nbase_url = 'https://[::ffff:169.254.169.254]'\n",
        f"amocrm.base_url: {METADATA} (::ffff:169.254.169.254), not at amoCRM",
    ),
    (
        "[amocrm]\nbase_url = 'https://[fd00:ec2::254]/'\n",
        f"amocrm.base_url: {METADATA} (fd00:ec2::254), not at amoCRM",
    ),
    ("[amocrm]\nbase_url = 'https://[fe80::1]/'\n", f"amocrm.base_url: {METADATA} (fe80::1), not at amoCRM"),
    (
        "[amocrm]\nbase_url = 'https://metadata.google.internal'\n",
        f"amocrm.base_url: {METADATA} (metadata.google.internal), not at amoCRM",
    ),
    (
        "[amocrm]\nbase_url = 'http://mycompany.amocrm.ru'\n",
        f"amocrm.base_url: sends the token in cleartext to mycompany.amocrm.ru: {CLEARTEXT}",
    ),
    (
        "[amocrm]\nallow_insecure = false\nbase_url = 'http://10.0.0.5:8080'\n",
        f"amocrm.base_url: sends the token in cleartext to 10.0.0.5: {CLEARTEXT}",
    ),
    ("[amocrm]\nallow_insecure = 'maybe'\n", "amocrm.allow_insecure: must be true or false"),
    (
        "[amocrm]\nsubdomain = 'a'\ntoken = ''\n",
        "amocrm.token: must not be empty (or set COHORT_AMOCRM_TOKEN)",
    ),
    (
        '[amocrm]\nsubdomain = "a"\ntoken = "abc\\r\\nX-Evil: 1"\n',
        "amocrm.token: must not contain spaces, line breaks or control characters (check the paste)",
    ),
    (
        "[amocrm]\ntoken = 'a'\n[amocrm.oauth]\nclient_id='i'\nclient_secret='s'\nredirect_uri='https://e.com/cb'\n",
        "amocrm: set either token (long-lived) or [amocrm.oauth], not both",
    ),
    (
        "[amocrm.oauth]\nclient_id = 'i'\nclient_secret = 's'\nredirect_uri = 'callback'\n",
        "amocrm.oauth.redirect_uri: must be the integration's redirect URI, an http(s) URL",
    ),
    (
        "[amocrm.oauth]\nclient_id = 'i'\nclient_secret = ''\nredirect_uri = 'https://e.com/cb'\n",
        "amocrm.oauth.client_secret: must not be empty (or set COHORT_AMOCRM_CLIENT_SECRET)",
    ),
    # database and e-mail
    (
        "[database]\nurl = 'mysql://x'\n",
        "database.url: must be a postgresql:// URL (leave empty for the embedded Postgres)",
    ),
    ("[email]\nhost = 'smtp'\nfrom = 'a@b'\nto = ['nobody']\n", "email.to: not an e-mail address: nobody"),
    ("[email]\nhost = 'smtp'\nto = ['a@b.c']\n", "email.from: required"),
    ("[email]\nfrom = 'a@b.c'\nto = ['a@b.c']\n", "email.host: required"),
    (
        "[email]\nhost = 'smtp'\nfrom='a@b'\nto=['a@b']\nsecurity = 'tls'\n",
        "email.security: must be one of 'starttls', 'ssl' or 'none'",
    ),
    (EMAIL + "port = 0\n", "email.port: must be at least 1"),
    (EMAIL + "port = 65536\n", "email.port: must be at most 65535"),
    (EMAIL + "timeout_s = nan\n", "email.timeout_s: must be a finite number"),
    (EMAIL + "max_attempts = 0\n", "email.max_attempts: must be at least 1"),
    (EMAIL + "max_attachment_mb = 0\n", "email.max_attachment_mb: must be greater than 0"),
    (EMAIL + "max_attachment_mb = 'big'\n", "email.max_attachment_mb: must be a number"),
    ("[service]\nlock_wait = 'soon'\n", "service.lock_wait: must be a duration like 30s, 15m, 1h, 2d or 1w"),
    ("[service]\nlock_wait = -5\n", "service.lock_wait: must not be negative"),
    # e-mail addresses parsed (issue 16.6), one line even when the value holds a line break
    ("[email]\nhost = 'smtp'\nfrom = 'a@b.c'\nto = ['a@']\n", "email.to: not an e-mail address: a@"),
    ("[email]\nhost = 'smtp'\nfrom = 'a@b.c'\nto = ['@@ @']\n", "email.to: not an e-mail address: @@ @"),
    (
        "[email]\nhost = 'smtp'\nfrom = 'a@b.c'\nto = ['ok@b.c', 'x@b..c', 'ю@b.c']\n",
        "email.to: not an e-mail address: x@b..c, ю@b.c",
    ),
    (
        "[email]\nhost = 'smtp'\nfrom = 'a@b.c'\nto = ['Sales, head <h@b.c>']\n",
        "email.to: not an e-mail address: Sales, head <h@b.c>",
    ),
    ("[email]\nhost = 'smtp'\nfrom = 'a@'\nto = ['a@b.c']\n", "email.from: not an e-mail address: a@"),
    (
        '[email]\nhost = "smtp"\nfrom = "a@b.c\\r\\nBcc: x@evil.test"\nto = ["a@b.c"]\n',
        "email.from: not an e-mail address: 'a@b.c\\r\\nBcc: x@evil.test'",
    ),
    (
        '[email]\nhost = "smtp"\nfrom = "a@b.c"\nto = ["a@b.c\\nBcc: x@evil.test"]\n',
        "email.to: not an e-mail address: 'a@b.c\\nBcc: x@evil.test'",
    ),
    (
        EMAIL + 'subject = "Cohorts\\r\\nBcc: x@evil.test"\n',
        "email.subject: must not contain control characters (found U+000D)",
    ),
]

ENV_CASES: list[tuple[str, dict[str, str], str]] = [
    (
        "[amocrm]\nsubdomain = 'a'\n",
        {"COHORT_AMOCRM_BASE_URL": "http://169.254.169.254/latest"},
        f"amocrm.base_url: {METADATA} (169.254.169.254), not at amoCRM",
    ),
    (
        "[amocrm]\nsubdomain = 'a'\n",
        {"COHORT_AMOCRM_TOKEN": "tok\nen"},
        "amocrm.token: must not contain spaces, line breaks or control characters (check the paste)",
    ),
    (
        "[database]\n",
        {"COHORT_DATABASE_URL": "sqlite:///x.db"},
        "database.url: must be a postgresql:// URL (leave empty for the embedded Postgres)",
    ),
]


def _one_line(
    doctor_with: DoctorWith, text: str, env: dict[str, str] | None = None
) -> tuple[Path, list[str]]:
    """The config file ``doctor`` refused and its error lines (exit 2, no traceback)."""
    path, result = doctor_with(text, env)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code == 2, result.stderr
    return path, result.stderr.strip().splitlines()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) + len(ENV_CASES) >= 60


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_malformed_config_one_line_exit_2(doctor_with: DoctorWith, text: str, expected: str) -> None:
    """`cohort-service --config bad.toml doctor` → exactly one error line naming file and key, exit 2."""
    path, lines = _one_line(doctor_with, text)
    assert lines == [f"error: {path}: {expected}"]


@pytest.mark.parametrize(
    ("text", "env", "expected"), ENV_CASES, ids=[f"env{i}" for i in range(len(ENV_CASES))]
)
def test_malformed_environment_one_line_exit_2(
    doctor_with: DoctorWith, text: str, env: dict[str, str], expected: str
) -> None:
    path, lines = _one_line(doctor_with, text, env)
    assert lines == [f"error: {path}: {expected}"]


def test_a_password_in_base_url_is_refused_and_never_echoed(doctor_with: DoctorWith) -> None:
    path, result = doctor_with("[amocrm]\nbase_url = 'https://admin:hunter2-secret@mycompany.amocrm.ru'\n")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: amocrm.base_url: must not hold a user name or password (amoCRM authenticates with"
        " amocrm.token)"
    ]
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("base_url", "insecure", "expected"),
    [
        ("http://127.0.0.1:8765/", False, "http://127.0.0.1:8765"),
        ("http://localhost:8765", False, "http://localhost:8765"),
        ("http://[::1]:8765", False, "http://[::1]:8765"),
        ("https://mycompany.kommo.com/", False, "https://mycompany.kommo.com"),
        ("http://amocrm-proxy.internal:8080", True, "http://amocrm-proxy.internal:8080"),
    ],
)
def test_good_base_urls_load(base_url: str, insecure: bool, expected: str) -> None:
    from cohort_service.config import settings_from_mapping

    data = {"amocrm": {"base_url": base_url, "allow_insecure": insecure}}
    assert settings_from_mapping(data, source="c", env={}).amocrm.url == expected


@pytest.mark.parametrize(
    "names",
    [
        ([CYR_30, "Won", "Лид :word", "100% paid", "a:b::int", "a\\:b"], ["Manager", "Лид :word at?"]),
        (["target", "qualified"], ["target at 2", "Qualified %"]),  # different tables: no clash
    ],
)
def test_natural_names_load(names: tuple[list[str], list[str]]) -> None:
    """Only true clashes are refused: quotes of SQL, colons, percent signs and 30 Cyrillic letters load."""
    from cohort_service.config import settings_from_mapping

    milestones, dimensions = names
    data = {
        "report": {
            "milestones": [{"name": n, "statuses": [142]} for n in milestones],
            "dimensions": [{"name": n, "field": "x"} for n in dimensions],
        }
    }
    report = settings_from_mapping(data, source="c", env={}).report
    assert [m.name for m in report.milestones] == milestones
    assert [d.name for d in report.dimensions] == dimensions
