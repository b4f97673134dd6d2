"""Great Expectations 1.x validation, timed as a fresh process; prints each expectation's count."""

import json
import sys
from datetime import UTC, datetime, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

# GX substitutes {batch} with "(SELECT …) AS subselect", so the batch takes no alias of ours.
ORPHANS = """
SELECT * FROM {batch}
WHERE NOT "IsDeleted" AND "AccountId" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "Account" a WHERE a."Id" = subselect."AccountId" AND NOT a."IsDeleted")
"""


def main(args_path: str) -> None:  # noqa: D103
    a = json.load(open(args_path))
    live = Column("IsDeleted") == False  # noqa: E712  (a GX condition object, not a comparison)
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=a["days"])
    # metric id -> (expectation, which number of its result is the metric)
    plan = {
        "rows": (gxe.ExpectColumnValuesToNotBeNull(column="Id", row_condition=live), "element_count"),
        "missing_email": (gxe.ExpectColumnValuesToNotBeNull(column="Email", row_condition=live), "unexpected_count"),
        "missing_last_name": (gxe.ExpectColumnValuesToNotBeNull(column="LastName", row_condition=live),
                              "unexpected_count"),
        "invalid_email": (gxe.ExpectColumnValuesToMatchRegex(column="Email", regex=a["email_re"], row_condition=live),
                          "unexpected_count"),
        "invalid_phone": (gxe.ExpectColumnValuesToMatchRegex(column="Phone", regex=a["phone_re"], row_condition=live),
                          "unexpected_count"),
        "bad_leadsource": (gxe.ExpectColumnValuesToBeInSet(column="LeadSource", value_set=a["ls"], row_condition=live),
                           "unexpected_count"),
        "bad_country": (gxe.ExpectColumnValuesToBeInSet(column="MailingCountry", value_set=a["iso"],
                                                        row_condition=live), "unexpected_count"),
        "dup_email": (gxe.ExpectColumnValuesToBeUnique(column="Email", row_condition=live), "unexpected_count"),
        "newest_modified": (gxe.ExpectColumnMaxToBeBetween(column="LastModifiedDate", row_condition=live),
                            "observed_value"),
        "stale": (gxe.ExpectColumnValuesToBeBetween(column="LastModifiedDate", min_value=cutoff, row_condition=live),
                  "unexpected_count"),
        "orphan_account": (gxe.UnexpectedRowsExpectation(unexpected_rows_query=ORPHANS), "observed_value"),
    }
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_postgres("peers", connection_string=a["url"]).add_table_asset(
        "contact", table_name='"Contact"')  # quoted: mixed case
    batch = asset.add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="peers"))
    for metric, (expectation, _) in plan.items():
        expectation.meta = {"metric": metric}
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(gx.ValidationDefinition(name="peers", data=batch, suite=suite))
    result = validation.run()
    out, errors = {}, []
    for r in result.results:
        metric = r.expectation_config.meta["metric"]
        # exception_info is either one {raised_exception, …} or one such dict per metric it needed
        info = r.exception_info or {}
        failed = [i for i in ([info] if "raised_exception" in info else info.values())
                  if isinstance(i, dict) and i.get("raised_exception")]
        if failed:
            errors.append(f"{metric}: {failed[0].get('exception_message', '')[:300]}")
            out[metric] = None
            continue
        value = r.result.get(plan[metric][1])
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S")
        elif metric == "newest_modified" and isinstance(value, str):
            value = value.replace("T", " ")[:19]
        out[metric] = value
    out["_errors"] = errors
    print("PEERS_RESULT " + json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
