"""AppTest drives every page of the dashboard against a warehouse built from the sandboxes
(KPro, OviPro and carehome extracted, a sample pushed to the dialler, Real Geeks and KPro);
the numbers shown must equal SQL counts over the same warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from leadkit.dashboard.app import FILTER_EXAMPLE
from leadkit.dashboard.pages import PAGES
from leadkit.storage.warehouse import Warehouse
from tests.dashboard._warehouse import SOURCES
from tests.dashboard.conftest import warehouse_of

OpenApp = Callable[[Path], AppTest]

LEAD_TABLES_SQL = (
    "SELECT _source AS source, created_at FROM kpro_leads "
    "UNION ALL SELECT _source, creation_time FROM ovipro_leads "
    "UNION ALL SELECT _source, date FROM carehome_leads"
)


def scalar(wh: Warehouse, sql: str, params: list[Any] | None = None) -> int:
    return int(wh.sql(sql, params)[:, 0][0])


def metric(at: AppTest, label: str) -> int:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return int(values[0].replace(",", ""))


def frame(at: AppTest, key: str) -> Any:
    try:
        block = at.get_by_key(f"table-{key}")
    except KeyError:
        raise AssertionError(f"no table {key!r} on the page") from None
    return block.dataframe[0].value


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value for kind in (at.info, at.warning, at.error, at.caption, at.success) for e in kind
    ]
    return "\n".join(str(p) for p in parts)


def test_overview_totals_equal_sql_counts(sandbox_config: Path, open_app: OpenApp) -> None:
    at = open_app(sandbox_config)
    assert not at.exception, at.exception
    wh = warehouse_of(sandbox_config)
    total = scalar(wh, f"SELECT count(*) FROM ({LEAD_TABLES_SQL})")
    assert total > 2000
    assert total == scalar(wh, "SELECT count(*) FROM leads")
    assert metric(at, "Total leads") == total
    assert metric(at, "New leads in period") == total  # the default period is every day
    assert metric(at, "Rejected records") == scalar(wh, "SELECT count(*) FROM _rejects") > 0
    assert metric(at, "Stale sources") == 0
    shown = frame(at, "overview_sources")
    expected = wh.sql(
        f"SELECT source, count(*) AS n FROM ({LEAD_TABLES_SQL}) GROUP BY source ORDER BY source"
    )
    assert dict(zip(shown["source"], shown["total"], strict=True)) == dict(expected.iter_rows())
    by_system = wh.sql("SELECT system, source FROM leads GROUP BY ALL")
    assert set(zip(shown["system"], shown["source"], strict=True)) == set(by_system.iter_rows())
    assert set(shown["system"]) == {"carehome", "kpro", "ovipro"}
    fresh = frame(at, "freshness")
    assert sorted(fresh["source"]) == sorted(SOURCES)
    assert dict(zip(fresh["source"], fresh["system"], strict=True)) == SOURCES
    assert not fresh["stale"].any()


def test_period_against_previous_period_equals_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = open_app(sandbox_config)
    at.sidebar.date_input(key="dates").set_value((date(2021, 3, 1), date(2021, 3, 31))).run()
    assert not at.exception, at.exception
    wh = warehouse_of(sandbox_config)
    count = f"SELECT count(*) FROM ({LEAD_TABLES_SQL}) WHERE created_at >= ? AND created_at < ?"
    period = scalar(wh, count, ["2021-03-01 00:00+00", "2021-04-01 00:00+00"])
    previous = scalar(wh, count, ["2021-01-29 00:00+00", "2021-03-01 00:00+00"])
    assert metric(at, "New leads in period") == period > 0
    shown = frame(at, "overview_sources")
    carehome = scalar(
        wh,
        "SELECT count(*) FROM carehome_leads WHERE date >= ? AND date < ?",
        ["2021-03-01 00:00+00", "2021-04-01 00:00+00"],
    )
    assert shown[shown["source"] == "carehome_uk"]["period"].iloc[0] == carehome > 0
    delta = next(m.delta for m in at.metric if m.label == "New leads in period")
    assert delta.startswith(f"{period - previous:+,}")
    assert metric(at, "Total leads") == scalar(wh, f"SELECT count(*) FROM ({LEAD_TABLES_SQL})")


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_error(
    page: str, sandbox_config: Path, open_app: OpenApp
) -> None:
    at = goto(open_app(sandbox_config), page)
    assert at.title[0].value == page
    assert not at.error


def test_volumes_per_source_equal_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Volumes")
    at.sidebar.radio(key="grain").set_value("month").run()
    wh = warehouse_of(sandbox_config)
    shown = frame(at, "volumes")
    expected = wh.sql(
        f"SELECT date_trunc('month', created_at)::DATE AS period, source, count(*) AS leads "
        f"FROM ({LEAD_TABLES_SQL}) GROUP BY ALL ORDER BY period, source"
    )
    assert len(shown) == expected.height
    assert int(shown["leads"].sum()) == metric(at, "Leads in range") == int(expected["leads"].sum())
    assert [str(p)[:10] for p in shown["period"]] == [str(p) for p in expected["period"]]


def test_eligibility_by_site_equals_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Eligibility")
    wh = warehouse_of(sandbox_config)
    shown = frame(at, "eligibility_sites")
    expected = wh.sql(
        "SELECT site.name AS site, count(*) AS total, "
        "count(*) FILTER (WHERE eligibility_status = 'passed') AS passed "
        "FROM kpro_leads GROUP BY ALL"
    )
    got = {
        s: (t, p) for s, t, p in zip(shown["site"], shown["total"], shown["passed"], strict=True)
    }
    assert got == {s: (t, p) for s, t, p in expected.iter_rows()}
    assert metric(at, "Passed") == scalar(
        wh, "SELECT count(*) FROM kpro_leads WHERE eligibility_status = 'passed'"
    )


def test_categories_equal_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Categories")
    assert "extracted yet" not in texts(at)
    wh = warehouse_of(sandbox_config)
    cases = {
        "categories_carehome": (
            "SELECT coalesce(category_name, '(none)'), count(*) FROM carehome_leads GROUP BY 1"
        ),
        "categories_ovipro_type": (
            "SELECT lead.lead_type_code, count(*) FROM ovipro_leads GROUP BY 1"
        ),
        "categories_ovipro_source": (
            "SELECT lead.lead_source_type_code, count(*) FROM ovipro_leads GROUP BY 1"
        ),
        "categories_kpro_enquiry": (
            "SELECT coalesce(enquiry_type, '(none)'), count(*) FROM kpro_leads GROUP BY 1"
        ),
    }
    for key, sql in cases.items():
        shown = frame(at, key)
        assert dict(zip(shown["category"], shown["leads"], strict=True)) == dict(
            wh.sql(sql).iter_rows()
        ), key
        assert abs(float(shown["share"].sum()) - 1) < 0.01


def test_carehome_categories_are_the_real_category_names(
    sandbox_config: Path, open_app: OpenApp
) -> None:
    at = goto(open_app(sandbox_config), "Categories")
    wh = warehouse_of(sandbox_config)
    shown = frame(at, "categories_carehome")
    # Every category of the reference table, with the leads the extract stored under it.
    expected = wh.sql(
        "SELECT c.name, count(l.id) AS n FROM carehome_categories c "
        "LEFT JOIN carehome_leads l ON l.category_id = c.id GROUP BY ALL"
    )
    assert dict(zip(shown["category"], shown["leads"], strict=True)) == dict(expected.iter_rows())
    assert {"Contact Form Message", "Call Back Request", "Placement"} <= set(shown["category"])
    assert int(shown["leads"].sum()) == scalar(wh, "SELECT count(*) FROM carehome_leads") > 200
    # The canonical `category` is the same name: the filter box narrows to one category.
    at.text_input(key="filter").input("category=Placement").run()
    shown = frame(at, "categories_carehome")
    assert list(shown["category"]) == ["Placement"]
    assert list(shown["leads"]) == [
        scalar(
            wh,
            "SELECT count(*) FROM leads WHERE system = 'carehome' AND category = ?",
            ["Placement"],
        )
    ]


def test_pages_say_which_sources_are_not_extracted_yet(
    kpro_only_config: Path, open_app: OpenApp
) -> None:
    at = goto(open_app(kpro_only_config), "Categories")
    assert "No carehome source extracted yet" in texts(at)
    assert "No OviPro source extracted yet" in texts(at)
    wh = warehouse_of(kpro_only_config)
    shown = frame(at, "categories_kpro_enquiry")
    assert int(shown["leads"].sum()) == scalar(wh, "SELECT count(*) FROM kpro_leads") > 0
    goto(at, "OviPro funnel")
    assert "No OviPro source extracted yet" in texts(at)
    goto(at, "Data quality")
    assert "No deliveries yet" in texts(at)
    assert metric(at, "Failed runs") == 0
    goto(at, "Overview")
    assert metric(at, "Total leads") == scalar(wh, "SELECT count(*) FROM leads")


def test_ovipro_funnel_equals_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "OviPro funnel")
    wh = warehouse_of(sandbox_config)
    shown = frame(at, "funnel")
    expected = wh.sql("SELECT lead_status_code, count(*) FROM ovipro_leads GROUP BY 1")
    assert dict(zip(shown["status"], shown["leads"], strict=True)) == dict(expected.iter_rows())
    assert list(shown["status"]) == [
        s for s in ("NEW", "IN_PROGRESS", "APPROVED", "REJECTED") if s in set(shown["status"])
    ]
    decided = scalar(
        wh, "SELECT count(*) FROM ovipro_leads WHERE lead_status_code IN ('APPROVED', 'REJECTED')"
    )
    assert metric(at, "Decided") == decided
    median = wh.sql(
        "SELECT round(median((epoch(decision_time) - epoch(creation_time)) / 3600), 1) "
        "FROM ovipro_leads WHERE lead_status_code = 'APPROVED'"
    )[:, 0][0]
    row = shown[shown["status"] == "APPROVED"].iloc[0]
    assert row["median_hours"] == pytest.approx(median)


def test_data_quality_equals_sql(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Data quality")
    wh = warehouse_of(sandbox_config)
    rejects = frame(at, "rejects")
    assert int(rejects["records"].sum()) == scalar(wh, "SELECT count(*) FROM _rejects") > 0
    runs = frame(at, "runs")
    assert len(runs) == scalar(wh, "SELECT count(*) FROM _runs")
    assert metric(at, "Failed runs") == scalar(
        wh, "SELECT count(*) FROM _runs WHERE status <> 'success'"
    )
    # The warnings column is _runs.warnings: carehome leads kept with data-quality warnings.
    expected = dict(wh.sql("SELECT run_id || source, warnings FROM _runs").iter_rows())
    got = {
        r + s: w for r, s, w in zip(runs["run_id"], runs["source"], runs["warnings"], strict=True)
    }
    assert got == expected
    summary = frame(at, "runs_summary")
    warned = dict(zip(summary["source"], summary["warnings"], strict=True))
    assert warned["carehome_uk"] == scalar(
        wh, "SELECT sum(warnings) FROM _runs WHERE source = 'carehome_uk'"
    )
    assert warned["carehome_uk"] == scalar(
        wh, "SELECT count(*) FROM carehome_leads WHERE len(dq_warnings) > 0"
    )
    assert warned["carehome_uk"] > 0


def test_deliveries_equal_the_ledger(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Data quality")
    wh = warehouse_of(sandbox_config)
    shown = frame(at, "deliveries")
    expected = wh.sql(
        "SELECT destination, kind, status, count(*), sum(attempts) FROM _deliveries GROUP BY ALL"
    )
    got = {
        (d, k, s): (n, a)
        for d, k, s, n, a in zip(
            shown["destination"],
            shown["kind"],
            shown["status"],
            shown["leads"],
            shown["attempts"],
            strict=True,
        )
    }
    assert got == {(d, k, s): (n, a) for d, k, s, n, a in expected.iter_rows()}
    assert {k for _, k, _ in got} == {"dialler", "realgeeks", "kpro"}
    assert {"sent", "rejected", "skipped-duplicate"} <= {s for _, _, s in got}
    count = "SELECT count(*) FROM _deliveries WHERE status IN ({})"
    assert metric(at, "Delivered") == scalar(
        wh, count.format("'sent', 'updated', 'skipped-duplicate'")
    )
    assert metric(at, "Rejected deliveries") == scalar(wh, count.format("'rejected'")) > 0
    assert metric(at, "Failed deliveries") == scalar(wh, count.format("'failed'"))


KPRO_FILTER_SQL = (
    "SELECT count(*) FROM kpro_leads "
    "WHERE eligibility_status IN ('passed', 'considered') AND site.id = 3"
)


def test_filter_box_narrows_every_page(sandbox_config: Path, open_app: OpenApp) -> None:
    at = open_app(sandbox_config)
    at.text_input(key="filter").input(FILTER_EXAMPLE).run()
    assert not at.exception, at.exception
    wh = warehouse_of(sandbox_config)
    expected = scalar(wh, KPRO_FILTER_SQL)
    assert 0 < expected < 1000
    assert metric(at, "Total leads") == expected
    assert "OviPro leads are left out" in texts(at)
    assert "care-home leads are left out" in texts(at)
    assert metric(at, "Rejected records") == scalar(wh, "SELECT count(*) FROM _rejects")
    goto(at, "Volumes")
    assert metric(at, "Leads in range") == expected
    goto(at, "Eligibility")
    assert metric(at, "KPro leads") == expected
    goto(at, "Categories")
    shown = frame(at, "categories_kpro_enquiry")
    assert int(shown["leads"].sum()) == expected
    assert "The filter leaves out these leads" in texts(at)  # OviPro types
    goto(at, "OviPro funnel")
    assert "The filter leaves out every OviPro lead" in texts(at)
    goto(at, "Data quality")
    runs = frame(at, "runs")
    assert set(runs["source"]) == {"kpro_london", "kpro_north"}
    # Only deliveries of matching leads: the dialler's KPro leads among them.
    delivered = scalar(
        wh,
        "SELECT count(*) FROM _deliveries d JOIN kpro_leads k "
        "ON d.system = 'kpro' AND d.source = k._source AND d.lead_id = CAST(k.id AS VARCHAR) "
        "WHERE k.eligibility_status IN ('passed', 'considered') AND k.site.id = 3",
    )
    assert int(frame(at, "deliveries")["leads"].sum()) == delivered > 0
    goto(at, "Leads")
    assert metric(at, "Matching leads") == expected
    rows = frame(at, "rows")
    assert len(rows) == min(expected, 200)
    assert set(rows["system"]) == {"kpro"}


def test_canonical_filter_applies_to_every_system(sandbox_config: Path, open_app: OpenApp) -> None:
    at = open_app(sandbox_config)
    at.text_input(key="filter").input("createdAt.gte=2021-03-01&createdAt.ltt=2021-03-31").run()
    wh = warehouse_of(sandbox_config)
    expected = scalar(
        wh,
        f"SELECT count(*) FROM ({LEAD_TABLES_SQL}) "
        "WHERE created_at >= '2021-03-01 00:00+00' AND created_at < '2021-04-01 00:00+00'",
    )
    assert metric(at, "Total leads") == expected
    assert expected == scalar(
        wh,
        "SELECT count(*) FROM leads "
        "WHERE created_at >= '2021-03-01 00:00+00' AND created_at < '2021-04-01 00:00+00'",
    )
    at.text_input(key="filter").input("status.in=NEW,passed").run()
    expected = scalar(
        wh,
        "SELECT (SELECT count(*) FROM kpro_leads WHERE eligibility_status = 'passed') + "
        "(SELECT count(*) FROM ovipro_leads WHERE lead_status_code = 'NEW')",
    )
    assert metric(at, "Total leads") == expected
    # Canonical columns mean what the `leads` view says, on every system.
    for text, where in [
        ("category=Placement", "category = 'Placement'"),
        ("source=carehome_uk", "source = 'carehome_uk'"),
        (
            "postcode.notnull&createdAt.lt=2021-04-01",
            "postcode IS NOT NULL AND created_at < '2021-04-01 00:00+00'",
        ),
    ]:
        at.text_input(key="filter").input(text).run()
        assert not at.exception, at.exception
        view = scalar(wh, f"SELECT count(*) FROM leads WHERE {where}")
        assert metric(at, "Total leads") == view > 0, text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("site.idd=3", "unknown field 'site.idd' in 'site.idd=3'; did you mean 'site.id'?"),
        ("createdAt.gtx=2021", "unknown operator 'gtx'"),
        ("site.id=abc", "'abc'"),
    ],
)
def test_invalid_filter_shows_the_query_error_not_a_traceback(
    text: str, message: str, sandbox_config: Path, open_app: OpenApp
) -> None:
    at = open_app(sandbox_config)
    at.text_input(key="filter").input(text).run()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Invalid filter: ")
    assert message in at.error[0].value
    assert "Traceback" not in at.error[0].value


def test_personal_data_masked_by_default_and_revealed_by_the_toggle(
    sandbox_config: Path, open_app: OpenApp
) -> None:
    at = goto(open_app(sandbox_config), "Leads")
    wh = warehouse_of(sandbox_config)
    emails = set(wh.sql("SELECT DISTINCT email FROM leads")["email"])
    rows = frame(at, "rows")
    shown = [e for e in rows["email"] if isinstance(e, str)]
    assert shown
    assert all("***" in e for e in shown)
    assert not emails & set(shown)
    assert all("***" in n for n in rows["full_name"] if isinstance(n, str))
    at.sidebar.toggle(key="reveal").set_value(True).run()
    rows = frame(at, "rows")
    shown = [e for e in rows["email"] if isinstance(e, str)]
    assert shown
    assert set(shown) <= emails


def test_leads_page_offers_the_csv(sandbox_config: Path, open_app: OpenApp) -> None:
    at = goto(open_app(sandbox_config), "Leads")
    wh = warehouse_of(sandbox_config)
    total = scalar(wh, f"SELECT count(*) FROM ({LEAD_TABLES_SQL})")
    assert metric(at, "Matching leads") == total
    button = at.get("download_button")
    assert button, "no download button"
    assert f"{total:,} rows" in button[0].proto.label


def test_missing_warehouse_says_which_command_fills_it(tmp_path: Path, open_app: OpenApp) -> None:
    config = tmp_path / "leadkit.toml"
    config.write_text('[warehouse]\npath = "nothing-here.duckdb"\n')
    at = open_app(config)
    assert not at.exception
    assert not at.error
    message = at.info[0].value
    assert "There is no warehouse at" in message
    assert "nothing-here.duckdb" in message
    assert "`leadkit extract`" in message
    assert "`leadkit demo`" in message


def test_empty_warehouse_says_which_command_fills_it(tmp_path: Path, open_app: OpenApp) -> None:
    Warehouse(tmp_path / "leadkit.duckdb").migrate()
    config = tmp_path / "leadkit.toml"
    config.write_text('[warehouse]\npath = "leadkit.duckdb"\n')
    at = open_app(config)
    assert not at.exception
    assert "has no leads yet" in at.info[0].value
    assert "`leadkit extract`" in at.info[0].value
