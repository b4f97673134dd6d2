"""Phone validation speed: `check_phone` and `phone_info` against the implementation they replaced.

    python benchmarks/phone_speed.py [--pairs 500000] [--rounds 3] [--seed 7]

Builds (value, region) pairs shaped like a Salesforce contact table: phones mostly `+1NXXNXXXXXX`
or `(NXX) NXX-XXXX`, some `NXX-NXX-XXXX`, `+1 NXX-NXX-XXXX` and `NXX.NXX.XXXX`, a few other
countries (E.164, international and national spellings of valid numbers), about 2 % invalid
values (bad area codes and exchanges, wrong lengths, extensions, text), and as region the
contact's country as the CRM holds it: 'US', 'USA', 'United States', None, 'CA', 'Canada', 'GB'…
A fifth of the rows repeat an earlier pair (shared office lines, duplicate contacts).

The previous implementation (checks/phones.py and `phone_info` as of commit 74e6146) is read from
git, so this runs in a clone with that history. After a warm-up, old and new run alternately, `--rounds` times:
`check_phone` over the distinct pairs, and `phone_info` over all rows (the old one with its process
pool, as it ran). Prints the medians in µs per distinct pair and the ratios, and asserts that the
answers are the same: equal, or, where the old implementation disagreed with phonenumbers' own
full parse (`+0…` numbers, `#` or `~` inside a number, Israel's 015 international prefix…), the
new answer is phonenumbers' (their count is printed; none in the generated data by default).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import pandas as pd
import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.phones import check_phone  # noqa: E402
from checks.values import phone_info  # noqa: E402

# -- the data -------------------------------------------------------------------------------------
US_AREAS = [
    int(a)
    for a in """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234 239 240
248 251 252 253 254 256 260 262 267 269 270 272 276 281 301 302 303 304 305 307 308 309 310 312 313
314 315 316 317 318 319 320 321 323 325 330 331 334 336 337 339 347 351 352 360 361 385 386 401 402
404 405 406 407 408 409 410 412 413 414 415 417 419 423 424 425 430 432 434 435 440 442 443 458 469
470 475 478 479 480 484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 540 541
551 559 561 562 563 567 570 571 573 574 575 580 585 586 601 602 603 605 606 607 608 609 610 612 614
615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702 703 704 706
707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 747 754 757 760 762 763 765 769
770 772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830
831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 872 878 901 903 904 906 907 908
909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937 940 941 947 949 951 952 954 956 970
971 972 973 978 979 980 985 989""".split()
]
CA_AREAS = [
    204,
    226,
    236,
    249,
    250,
    289,
    306,
    343,
    365,
    403,
    416,
    418,
    431,
    437,
    438,
    450,
    506,
    514,
    519,
    548,
    579,
    581,
    587,
    604,
    613,
    639,
    647,
    705,
    709,
    778,
    780,
    782,
    807,
    819,
    825,
    867,
    873,
    902,
    905,
]
OTHER_REGIONS = ["GB", "DE", "FR", "MX", "AU", "IN", "NL", "ES", "BR", "IE", "IT", "SE"]
US_SPELLINGS = ["US", "USA", "United States", None]
US_WEIGHTS = [55, 15, 13, 17]


def _valid_areas(areas: list[int], region: str) -> list[int]:
    """The area codes phonenumbers' metadata knows for the region (a number 234-5678 in each)."""
    return [
        a
        for a in areas
        if phonenumbers.is_valid_number_for_region(phonenumbers.parse(f"+1{a}2345678"), region)
    ]


def _other_numbers(rng: random.Random, per_type: int = 300) -> dict[str, list[phonenumbers.PhoneNumber]]:
    """Valid fixed-line and mobile numbers of other countries: the example numbers, last digits redrawn."""
    pools = {}
    for region in OTHER_REGIONS:
        found = []
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            national = phonenumbers.national_significant_number(example)
            kept = 0
            for _ in range(per_type * 4):
                digits = national[:-4] + f"{rng.randint(0, 9999):04d}"
                number = phonenumbers.parse(f"+{example.country_code}{digits}")
                if phonenumbers.is_valid_number(number):
                    found.append(number)
                    kept += 1
                    if kept == per_type:
                        break
        pools[region] = found
    return pools


def _invalid_nanp(rng: random.Random, area: int, exchange: int, line: int) -> str:
    return rng.choice(
        [
            f"+1{rng.randint(100, 199)}{exchange}{line:04d}",  # area code starting with 1
            f"({area}) {rng.randint(0, 199):03d}-{line:04d}",  # exchange starting with 0 or 1
            f"+1 (211) {exchange}-{line:04d}",  # a service code, not an area code
            f"+1{area}{exchange}{line:03d}",  # a digit short
            f"{area}-{exchange}-{line:04d}{rng.randint(0, 9)}",  # a digit long
            f"{exchange}-{line:04d}",  # no area code
            f"({area}) {exchange}-{line:04d} ext {rng.randint(1, 999)}",
            "n/a",
            "call office",
            "TBD",
            "see notes",
        ]
    )


def make_pairs(count: int, seed: int) -> list[tuple[str, str | None]]:
    """`count` (phone, country) pairs of a Salesforce-shaped contact table (see the module docstring)."""
    rng = random.Random(seed)
    us_areas, ca_areas = _valid_areas(US_AREAS, "US"), _valid_areas(CA_AREAS, "CA")
    others = _other_numbers(rng)
    formats = [
        PhoneNumberFormat.E164,
        PhoneNumberFormat.E164,
        PhoneNumberFormat.E164,
        PhoneNumberFormat.INTERNATIONAL,
        PhoneNumberFormat.NATIONAL,
    ]
    pairs: list[tuple[str, str | None]] = []
    for _ in range(count):
        if pairs and rng.random() < 0.2:
            pairs.append(pairs[rng.randrange(len(pairs))])
            continue
        kind = rng.random()
        if kind < 0.92:  # North America
            canada = kind < 0.05
            area = rng.choice(ca_areas if canada else us_areas)
            region = (
                rng.choice(["CA", "CA", "Canada", None])
                if canada
                else rng.choices(US_SPELLINGS, US_WEIGHTS)[0]
            )
            exchange, line = rng.randint(200, 999), rng.randint(0, 9999)
            if rng.random() < 0.02:
                pairs.append((_invalid_nanp(rng, area, exchange, line), region))
                continue
            shape = rng.random()
            if shape < 0.55:
                value = f"+1{area}{exchange}{line:04d}"
            elif shape < 0.88:
                value = f"({area}) {exchange}-{line:04d}"
            elif shape < 0.93:
                value = f"{area}-{exchange}-{line:04d}"
            elif shape < 0.97:
                value = f"+1 {area}-{exchange}-{line:04d}"
            else:
                value = f"{area}.{exchange}.{line:04d}"
            pairs.append((value, region))
        else:
            country = rng.choice(OTHER_REGIONS)
            region = rng.choice([country, country, country, None])
            if rng.random() < 0.02:
                pairs.append(("".join(rng.choices("0123456789", k=rng.randint(3, 7))), region))
                continue
            number = rng.choice(others[country])
            pairs.append((phonenumbers.format_number(number, rng.choice(formats)), region))
    return pairs


# -- the previous implementation, read from git ---------------------------------------------------
OLD_COMMIT = "74e6146"  # checks/phones.py and values.phone_info before the speed-up


def _old_module(path: str, name: str, replace: tuple[tuple[str, str], ...] = ()) -> types.ModuleType:
    """A module of the repository as it was at OLD_COMMIT, importable as `name` (workers find it too)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:{path}"], capture_output=True,
                            text=True, check=True).stdout
    for old, new in replace:
        source = source.replace(old, new)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{OLD_COMMIT}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


old_phones = _old_module("checks/phones.py", "old_phones")
old_values = _old_module("checks/values.py", "old_values",
                         (("from checks.phones import check_phone", "from old_phones import check_phone"),))
old_check_phone, old_full, old_phone_info = old_phones.check_phone, old_phones._full, old_values.phone_info


# -- the measurement ------------------------------------------------------------------------------
def timed(func, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = func(*args)
    return time.perf_counter() - start, out


def check_all(func, distinct):
    return [func(v, r) for v, r in distinct]


def shape_of(value: str) -> str:
    if re.fullmatch(r"\+1\d{10}", value):
        return "+1NXXNXXXXXX"
    if re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", value):
        return "(NXX) NXX-XXXX"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=500_000, help="rows of (phone, country)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    pairs = make_pairs(args.pairs, args.seed)
    distinct = list(dict.fromkeys(pairs))
    values = pd.Series([v for v, _ in pairs], dtype=object)
    regions = pd.Series([r for _, r in pairs], dtype=object)
    print(f"{len(pairs):,} rows, {len(distinct):,} distinct (value, region) pairs, {os.cpu_count()} CPUs")

    # Warm-up: metadata loaded and patterns compiled on both sides.
    check_all(old_check_phone, distinct[:20_000])
    check_all(check_phone, distinct[:20_000])

    times: dict[str, list[float]] = {
        "old check_phone": [],
        "new check_phone": [],
        "old phone_info": [],
        "new phone_info": [],
    }
    for _ in range(args.rounds):
        seconds, old_answers = timed(check_all, old_check_phone, distinct)
        times["old check_phone"].append(seconds)
        seconds, new_answers = timed(check_all, check_phone, distinct)
        times["new check_phone"].append(seconds)
        seconds, old_frame = timed(old_phone_info, values, regions)
        times["old phone_info"].append(seconds)
        seconds, new_frame = timed(phone_info, values, regions)
        times["new phone_info"].append(seconds)

    # The same answers: equal, or (where the old path disagreed with phonenumbers) phonenumbers' answer.
    fixed = 0
    for (value, region), old, new in zip(distinct, old_answers, new_answers, strict=True):
        if old != new:
            assert new == old_full(value, region) != old, (value, region, old, new)
            fixed += 1
    if fixed == 0:
        pd.testing.assert_frame_equal(new_frame, old_frame, check_exact=True)
    else:
        assert list(new_frame.columns) == list(old_frame.columns) and list(new_frame.dtypes) == list(
            old_frame.dtypes
        )
    print(
        f"answers: {len(distinct) - fixed:,} equal, {fixed} where the old path disagreed with phonenumbers "
        f"and the new one gives phonenumbers' answer; phone_info frames {'equal' if fixed == 0 else 'as above'}"
    )

    per = {name: statistics.median(t) / len(distinct) * 1e6 for name, t in times.items()}
    for what in ("check_phone", "phone_info"):
        old, new = per[f"old {what}"], per[f"new {what}"]
        print(
            f"{what:<12} old {old:6.2f} µs  new {new:6.2f} µs  per distinct pair (median of {args.rounds}; "
            f"new total {statistics.median(times[f'new {what}']):.2f} s)  ratio {old / new:.2f}x"
        )

    # Where the time goes: the new check_phone per shape, one round.
    by_shape: dict[str, list[tuple[str, str | None]]] = {}
    for pair in distinct:
        by_shape.setdefault(shape_of(pair[0]), []).append(pair)
    for shape, part in by_shape.items():
        old_s = timed(check_all, old_check_phone, part)[0] / len(part) * 1e6
        new_s = timed(check_all, check_phone, part)[0] / len(part) * 1e6
        print(f"  {shape:<15} {len(part):>8,} pairs  old {old_s:5.2f} µs  new {new_s:5.2f} µs")


if __name__ == "__main__":
    main()
