"""Soda Core v3 scan, timed as a fresh process; prints each named check's value."""

import json
import sys

from soda.scan import Scan


def main(args_path: str) -> None:  # noqa: D103
    a = json.load(open(args_path))
    scan = Scan()
    scan.set_data_source_name("peers_pg")
    scan.set_scan_definition_name("peers")
    scan.add_configuration_yaml_file(a["configuration"])
    scan.add_sodacl_yaml_file(a["checks"])
    scan.execute()
    out, errors = {}, [str(e) for e in scan.get_error_logs()]
    for check in scan.get_scan_results()["checks"]:
        d = check.get("diagnostics") or {}
        # freshness: the max timestamp it measured from; every other check: its value
        out[check["name"]] = d.get("maxColumnTimestamp", d.get("value"))
    out["_errors"] = errors
    print("PEERS_RESULT " + json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
