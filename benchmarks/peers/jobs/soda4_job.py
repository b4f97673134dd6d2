"""Soda v4 contract verification, timed as a fresh process; prints each named check's metric."""

import json
import sys
from datetime import UTC, datetime, timedelta

from soda_core.contracts.api.verify_api import verify_contract_locally

# The diagnostic that is the check's number, per check type.
VALUE = {"missing": "missing_count", "invalid": "invalid_count", "duplicate": "duplicate_count",
         "row_count": "check_rows_tested", "freshness": "freshness_in_hours"}


def main(args_path: str) -> None:  # noqa: D103
    a = json.load(open(args_path))
    # The time freshness is measured against, passed in so that now - freshness is the newest row.
    now = datetime.now(UTC)
    result = verify_contract_locally(data_source_file_path=a["data_source"], contract_file_path=a["contract"],
                                     data_timestamp=now.isoformat())
    out = {}
    for verification in result.contract_verification_results:
        for cr in verification.check_results:
            value = (cr.diagnostic_metric_values or {}).get(VALUE.get(cr.check.type, ""))
            if cr.check.type == "freshness" and value is not None:
                value = (now.replace(tzinfo=None) - timedelta(hours=value)).strftime("%Y-%m-%d %H:%M:%S")
            out[cr.check.name] = value
    out["_errors"] = [str(e) for e in getattr(result, "errors", None) or []]
    print("PEERS_RESULT " + json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
