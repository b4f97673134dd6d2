"""Phone validation speed: `check_phone` and `phone_info` against the implementation they replaced.

    python benchmarks/phone_speed.py [--pairs 500000] [--rounds 3] [--seed 7]

Builds (value, region) pairs shaped like a Salesforce contact table: phones mostly `+1NXXNXXXXXX`
or `(NXX) NXX-XXXX`, some `NXX-NXX-XXXX`, `+1 NXX-NXX-XXXX` and `NXX.NXX.XXXX`, a few other
countries (E.164, international and national spellings of valid numbers), about 2 % invalid
values (bad area codes and exchanges, wrong lengths, extensions, text), and as region the
contact's country as the CRM holds it: 'US', 'USA', 'United States', None, 'CA', 'Canada', 'GB'…
A fifth of the rows repeat an earlier pair (shared office lines, duplicate contacts).

The previous implementation (checks/phones.py and `phone_info` as of commit 74e6146) is copied
below under `old_` names. After a warm-up, old and new run alternately, `--rounds` times:
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
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


# -- the previous implementation (checks/phones.py and checks/values.phone_info at 74e6146) ------------
old_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
old_POSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too few digits",
    phonenumbers.ValidationResult.TOO_LONG: "too many digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits",
}
old_DROP_NON_DIGITS = {c: None for c in range(128) if not chr(c).isdigit()}
old_PHONE_EXTENSION = re.compile(r"[a-wyzA-WYZ]|ext|x\s*\d", re.IGNORECASE)
old_PARALLEL_FROM = 40_000


@cache
def old_region_rule(region):
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    prefix, parsing = meta.national_prefix, meta.national_prefix_for_parsing
    if parsing is not None and (parsing.split("|")[0] != prefix or not parsing.replace("|", "").isdigit()):
        return None
    others = tuple(parsing.split("|")[1:]) if parsing else ()
    return str(meta.country_code), prefix or "", others


@cache
def old_rewritten_after_code(code):
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    meta = PhoneMetadata.metadata_for_region(regions[0]) if regions else None
    if meta is None:
        return False, ()
    patterns = (re.compile(meta.national_prefix_for_parsing),) if meta.national_prefix_for_parsing else ()
    return meta.national_prefix_transform_rule is not None, patterns


def old_fast_e164(raw, region):
    if not raw.isascii() or old_PHONE_EXTENSION.search(raw):
        return None
    digits = raw.translate(old_DROP_NON_DIGITS)
    if raw.lstrip().startswith("+"):
        if not 8 <= len(digits) <= 15 or (split := old_split("+" + digits)) is None:
            return None
        transform, prefixes = old_rewritten_after_code(split[0])
        if transform or any(p.match(split[1]) for p in prefixes):
            return None
        return "+" + digits
    rule = old_region_rule(region) if region else None
    if rule is None or digits.startswith("00"):
        return None
    code, trunk, others = rule
    if others and digits.startswith(others):
        return None
    if code == "1":
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        return "+1" + digits if len(digits) == 10 and digits[0] not in "01" else None
    if trunk and digits.startswith(trunk):
        digits = digits[len(trunk) :]
    elif trunk:
        return None
    return f"+{code}{digits}" if 6 <= len(digits) <= 12 else None


def old_desc(desc):
    if desc is None or desc.national_number_pattern is None:
        return None
    lengths = list(desc.possible_length or ())
    usable = frozenset(lengths) if lengths and lengths[0] != -1 else None
    return usable, re.compile(desc.national_number_pattern)


@cache
def old_region_rules(region):
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    general = old_desc(meta.general_desc)
    types = [d for d in (old_desc(getattr(meta, t, None)) for t in old_TYPES) if d is not None]
    leading = re.compile(meta.leading_digits) if meta.leading_digits else None
    return general, types, leading


def old_valid_for_region(national, region):
    rules = old_region_rules(region)
    if rules is None or rules[0] is None:
        return False
    general, types, _ = rules
    size = len(national)
    lengths, pattern = general
    if (lengths is not None and size not in lengths) or pattern.fullmatch(national) is None:
        return False
    for lengths, pattern in types:
        if (lengths is None or size in lengths) and pattern.fullmatch(national) is not None:
            return True
    return False


def old_region_of(code, national):
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        return regions[0], False
    for region in regions:
        rules = old_region_rules(region)
        if rules is None:
            continue
        leading = rules[2]
        if leading is not None:
            if leading.match(national):
                return region, False
        elif old_valid_for_region(national, region):
            return region, True
    return None, False


def old_split(e164):
    digits = e164[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def old_full(value, region):
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False, "not a phone number", None, None
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason not in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        return False, old_POSSIBLE.get(reason, "not a possible number"), None, None
    if not phonenumbers.is_valid_number(num):
        return False, "no such number range in its country", None, None
    return (
        True,
        None,
        phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(num),
    )


def old_check_phone(value, region):
    e164 = old_fast_e164(value, region)
    if e164 is not None and (split := old_split(e164)) is not None and not split[1].startswith("0"):
        code, national = split
        found, valid = old_region_of(code, national)
        if found is not None and (valid or old_valid_for_region(national, found)):
            return True, None, e164, found
    return old_full(value, region)


def old_phone_batch(items):
    return [old_check_phone(v, r) for v, r in items]


OLD_PHONE_INFO = ("valid", "problem", "e164", "region")


def old_phone_info(values, regions):
    regs = [None if r is None or r != r else r for r in regions.to_numpy(dtype=object)]
    pairs = list(zip(values.to_numpy(dtype=object), regs, strict=True))
    uniq = [u for u in dict.fromkeys(pairs) if isinstance(u[0], str)]
    workers = min(os.cpu_count() or 1, 4)
    if len(uniq) >= old_PARALLEL_FROM and workers > 1:
        size = -(-len(uniq) // (workers * 4))
        with ProcessPoolExecutor(workers) as pool:
            results = [
                r
                for part in pool.map(old_phone_batch, [uniq[i : i + size] for i in range(0, len(uniq), size)])
                for r in part
            ]
    else:
        results = old_phone_batch(uniq)
    lookup = dict(zip(uniq, results, strict=True))
    unknown = (False, None, None, None)
    columns = list(zip(*[lookup.get(p, unknown) for p in pairs], strict=True)) or [(), (), (), ()]
    return pd.DataFrame(
        {
            "valid": np.array(columns[0], dtype=bool),
            **{
                name: pd.Series(col, index=values.index, dtype=object)
                for name, col in zip(OLD_PHONE_INFO[1:], columns[1:], strict=True)
            },
        },
        index=values.index,
    )


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
