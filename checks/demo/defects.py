"""Defects injected at known records, each logged with the clean value it replaced.

Every kind goes to its own records (no record carries two injected kinds unless the ground truth
says so), so that each check's precision and recall can be measured exactly. The change log lets
the history backfill rebuild how the CRM looked on earlier dates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import phonenumbers
from nicknames import NickNamer

from checks.demo.baseline import ascii_fold, company_domain, valid_phones
from checks.demo.places import COUNTRIES, LEAD_OPEN_STATUSES, LOST, OPEN_STAGES, WON

COUNTRY_VARIANTS = {
    "US": ["USA", "U.S.", "United States", "United States of America", "U.S.A."],
    "GB": ["UK", "United Kingdom", "England", "Great Britain", "U.K."],
    "DE": ["Germany", "Deutschland"],
    "FR": ["France", "Frankreich"],
    "NL": ["Holland", "Netherlands", "The Netherlands", "Nederland"],
}
PLACEHOLDER_EMAILS = ["test@test.com", "noemail@noemail.com", "none@none.com", "no@email.com", "na@na.com",
                      "email@email.com", "unknown@unknown.com", "noemail@{domain}"]
ROLES = ["info", "sales", "support", "admin", "contact", "office", "hello", "billing", "marketing", "noreply"]
DISPOSABLE = ["mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com", "trashmail.com",
              "sharklasers.com"]
DOMAIN_TYPOS = {"gmail.com": ["gmial.com", "gmail.con", "gmai.com", "gnail.com"],
                "yahoo.com": ["yahooo.com", "yaho.com", "yahoo.con"],
                "hotmail.com": ["hotmial.com", "hotmail.co"], "outlook.com": ["outlok.com", "outlook.con"]}
PLACEHOLDER_PHONES = ["000-000-0000", "123-456-7890", "555-555-5555", "(000) 000-0000", "1234567890",
                      "999-999-9999", "+1 111 111 1111", "0000000000"]
JUNK_NAMES = ["asdf", "???", "N/A", "xxxx", "qwerty", "Test", "zzz"]
NULL_TOKENS = ["Unknown", "-", "TBD"]
MOJIBAKE_SOURCES = ["Gonçalves", "Müller", "Lefèvre", "Böhm", "François", "Hélène", "Jürgen", "Señor",
                    "Dvořák", "Łukasz", "Ångström", "Renée"]
COMPANY_SUFFIXES = [" Inc.", " LLC", ", Inc", " Ltd", " Corp.", " Incorporated", " L.L.C."]
_NICK = NickNamer()


@dataclass
class Change:
    """One injected value: the clean value it replaced, for dated snapshots."""

    entity: str
    key: int
    column: str
    clean: object
    bad: object
    kind: str


@dataclass
class Injector:
    """Injects defects into the baseline tables and keeps the ground truth."""

    rng: np.random.Generator
    tables: dict[str, pd.DataFrame]
    as_of: datetime
    defects: dict[str, dict] = field(default_factory=dict)
    clusters: list[dict] = field(default_factory=list)
    lead_contact: list[dict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    used: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    exact_groups: dict[str, dict] = field(default_factory=dict)
    soft_deleted: dict[str, list] = field(default_factory=dict)
    original_max: dict[str, int] = field(default_factory=dict)

    def pick(self, entity: str, n: int, mask: np.ndarray | None = None) -> np.ndarray:
        """`n` row positions of `entity` not used by another kind, among `mask`."""
        frame = self.tables[entity]
        ok = np.ones(len(frame), bool) if mask is None else np.asarray(mask, bool).copy()
        ok &= (frame["deleted"].to_numpy() == 0) if "deleted" in frame else True
        if self.used[entity]:
            ok[list(self.used[entity])] = False
        choices = np.flatnonzero(ok)
        rows = self.rng.choice(choices, size=min(n, len(choices)), replace=False) if len(choices) else choices
        self.used[entity].update(rows.tolist())
        return np.sort(rows)

    def set(self, entity: str, row: int, column: str, value, kind: str) -> None:
        """Replace one value, logging the clean one."""
        frame = self.tables[entity]
        col = frame.columns.get_loc(column)
        self.changes.append(Change(entity, int(frame["id"].iat[row]), column, frame.iat[row, col], value, kind))
        frame.iat[row, col] = value

    def mark(self, kind: str, entity: str, rows) -> None:
        """Record rows (positions) as carrying `kind` in the ground truth."""
        keys = self.defects.setdefault(kind, {"entity": entity, "keys": []})["keys"]
        ids = self.tables[entity]["id"].to_numpy()
        keys.extend(str(ids[r]) for r in rows)

    def mark_keys(self, kind: str, entity: str, keys) -> None:
        """Record keys (ids) as carrying `kind`."""
        self.defects.setdefault(kind, {"entity": entity, "keys": []})["keys"].extend(str(k) for k in keys)

    def choice(self, values):
        """One of `values`."""
        return values[int(self.rng.integers(0, len(values)))]

    def col(self, entity: str, row: int, column: str):
        """Current value."""
        return self.tables[entity][column].iat[row]


def _country(code: str):
    return next(c for c in COUNTRIES if c.code == code)


def inject_contact_value_defects(inj: Injector, n: int) -> None:
    """Validity, accuracy, completeness and consistency defects on contacts, one kind per record."""
    c = inj.tables["contact"]
    has_phone = c.phone.notna().to_numpy()
    fixed_len = c.country.isin(["US", "FR", "NL", "GB"]).to_numpy()

    def each(kind, mask=None, count=n):
        rows = inj.pick("contact", count, mask)
        inj.mark(kind, "contact", rows)
        return rows

    for r in each("email_invalid_syntax", has_phone):  # still reachable by phone: one defect only
        local, _, dom = inj.col("contact", r, "email").partition("@")
        first, _, rest = local.partition(".")
        bad = inj.choice([f"{first}..{rest}@{dom}", f"{local}.{dom}", f"{first} {rest}@{dom}",
                          f"{local}@@{dom}", f"{local}@{dom.replace('.', ',')}", f"{local}@{dom}."])
        inj.set("contact", r, "email", bad, "email_invalid_syntax")
    for r in each("email_placeholder", has_phone):
        dom = inj.col("contact", r, "email").partition("@")[2]
        inj.set("contact", r, "email", inj.choice(PLACEHOLDER_EMAILS).format(domain=dom), "email_placeholder")
    for r in each("email_role"):
        dom = inj.col("contact", r, "email").partition("@")[2]
        inj.set("contact", r, "email", f"{inj.choice(ROLES)}@{dom}", "email_role")
    for r in each("email_disposable"):
        local = inj.col("contact", r, "email").partition("@")[0]
        inj.set("contact", r, "email", f"{local}@{inj.choice(DISPOSABLE)}", "email_disposable")
    for r in each("email_domain_typo"):
        local = inj.col("contact", r, "email").partition("@")[0]
        good = inj.choice(list(DOMAIN_TYPOS))
        inj.set("contact", r, "email", f"{local}@{inj.choice(DOMAIN_TYPOS[good])}", "email_domain_typo")
    for r in each("email_case"):
        local, _, dom = inj.col("contact", r, "email").partition("@")
        bad = ".".join(p.capitalize() for p in local.split(".")) + "@" + dom.capitalize()
        inj.set("contact", r, "email", bad, "email_case")
    for r in each("phone_wrong_digits", has_phone & fixed_len):
        e164 = inj.col("contact", r, "phone")
        bad = e164[:-2] if inj.rng.random() < 0.5 else e164 + str(inj.rng.integers(10, 99))
        inj.set("contact", r, "phone", bad, "phone_wrong_digits")
    for r in each("phone_placeholder"):
        inj.set("contact", r, "phone", inj.choice(PLACEHOLDER_PHONES), "phone_placeholder")
    for r in each("phone_not_e164", has_phone):
        inj.set("contact", r, "phone", reformat_phone(inj, inj.col("contact", r, "phone")), "phone_not_e164")
    for r in each("phone_country_mismatch", has_phone):
        home = inj.col("contact", r, "country")
        other = _country(inj.choice([x.code for x in COUNTRIES if x.code != home]))
        inj.set("contact", r, "phone", valid_phones(inj.rng, other, other.cities[0], 1)[0], "phone_country_mismatch")
    for r in each("country_not_iso"):
        code = inj.col("contact", r, "country")
        inj.set("contact", r, "country", inj.choice(COUNTRY_VARIANTS[code]), "country_not_iso")
    for r in each("postal_code_invalid"):
        code, postal = inj.col("contact", r, "country"), inj.col("contact", r, "postal_code")
        bad = {"US": postal[:4], "GB": postal.split(" ")[0], "DE": postal[:4], "FR": postal[:4],
               "NL": postal.split(" ")[0]}[code]
        inj.set("contact", r, "postal_code", bad, "postal_code_invalid")
    us_states = {city.state: city.postal for city in _country("US").cities}
    for r in each("state_postal_mismatch", (c.country == "US").to_numpy()):
        state = inj.col("contact", r, "state")
        other = inj.choice(sorted({s for s in us_states if s != state and us_states[s][:2] != us_states[state][:2]}))
        inj.set("contact", r, "state", other, "state_postal_mismatch")
    for r in each("name_casing"):
        fn, ln = inj.col("contact", r, "first_name"), inj.col("contact", r, "last_name")
        upper = inj.rng.random() < 0.5
        inj.set("contact", r, "first_name", fn.upper() if upper else fn.lower(), "name_casing")
        inj.set("contact", r, "last_name", ln.upper() if upper else ln.lower(), "name_casing")
    for r in each("whitespace"):
        column = inj.choice(["first_name", "last_name", "city"])
        value = inj.col("contact", r, column)
        bad = value.replace(" ", "  ") if " " in value else inj.choice([f" {value}", f"{value} ", f"{value}\u00a0"])
        inj.set("contact", r, column, bad, "whitespace")
    for r in each("junk_name"):
        inj.set("contact", r, "last_name", inj.choice(JUNK_NAMES), "junk_name")
    for r in each("swapped_names"):
        fn, ln = inj.col("contact", r, "first_name"), inj.col("contact", r, "last_name")
        inj.set("contact", r, "first_name", ln, "swapped_names")
        inj.set("contact", r, "last_name", fn, "swapped_names")
    for r in each("mojibake"):
        clean = inj.choice(MOJIBAKE_SOURCES)
        inj.set("contact", r, "last_name", clean.encode("utf-8").decode("cp1252", errors="replace"), "mojibake")
    for r in each("null_token"):
        inj.set("contact", r, "first_name", inj.choice(NULL_TOKENS), "null_token")
    for r in each("no_contact_method"):
        for column in ("email", "phone", "mobile"):
            inj.set("contact", r, column, None, "no_contact_method")
    for r in each("owner_missing"):
        inj.set("contact", r, "owner_id", None, "owner_missing")
    inactive = inj.tables["user"].loc[inj.tables["user"].is_active == 0, "id"].to_numpy()
    for r in each("owner_inactive"):
        inj.set("contact", r, "owner_id", int(inj.choice(inactive)), "owner_inactive")


def inject_contact_date_defects(inj: Injector, n: int) -> None:
    """Impossible dates, stale records, a mass update and orphans."""
    c = inj.tables["contact"]
    as_of = pd.Timestamp(inj.as_of)
    window_start = as_of - pd.Timedelta(days=700)
    for r in inj.pick("contact", n):
        if inj.rng.random() < 0.5:
            future = as_of + pd.Timedelta(days=int(inj.rng.integers(5, 200)))
            inj.set("contact", r, "created_at", future, "impossible_dates")
            inj.set("contact", r, "modified_at", future, "impossible_dates")
        else:
            created = c.created_at.iat[r]
            gap = pd.Timedelta(days=int(inj.rng.integers(1, 300)))
            if created - gap < window_start:  # keep it from also looking stale
                created = window_start + gap + pd.Timedelta(days=30)
                inj.set("contact", r, "created_at", created, "impossible_dates")
            inj.set("contact", r, "modified_at", created - gap, "impossible_dates")
        inj.mark("impossible_dates", "contact", [r])
    rows = inj.pick("contact", n)
    for r in rows:
        modified = as_of - pd.Timedelta(days=int(inj.rng.integers(760, 2000)))
        inj.set("contact", r, "created_at", modified - pd.Timedelta(days=int(inj.rng.integers(0, 400))), "stale")
        inj.set("contact", r, "modified_at", modified, "stale")
    inj.mark("stale", "contact", rows)
    spike = (as_of - pd.Timedelta(days=10)).normalize() + pd.Timedelta(hours=2)
    rows = inj.pick("contact", max(n * 2, 60), (c.created_at < spike - pd.Timedelta(days=1)).to_numpy())
    for r in rows:
        inj.set("contact", r, "modified_at", spike, "mass_update")
    inj.mark("mass_update", "contact", rows)
    accounts = inj.tables["account"]
    deleted_ids = accounts.loc[accounts.deleted == 1, "id"].to_numpy()
    rows = inj.pick("contact", n)
    for i, r in enumerate(rows):
        target = int(deleted_ids[i % len(deleted_ids)]) if i % 2 and len(deleted_ids) else 900_000 + i
        inj.set("contact", r, "account_id", target, "orphan_reference")
    inj.mark("orphan_reference", "contact", rows)


def reformat_phone(inj: Injector, e164: str) -> str:
    """A valid number written in a national or spaced international style instead of E.164."""
    num = phonenumbers.parse(e164)
    style = inj.rng.integers(0, 3)
    if style == 0:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style == 1:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national.replace(" ", ".").replace("(", "").replace(")", "").replace("-", ".")


def typo(rng, word: str) -> str:
    """One letter in the middle replaced by another lowercase letter."""
    pos = int(rng.integers(1, max(2, len(word) - 1)))
    letters = [ch for ch in "aeiourstnlm" if ch != word[pos].lower()]
    return word[:pos] + letters[int(rng.integers(0, len(letters)))] + word[pos + 1 :]


def nickname_of(name: str) -> str | None:
    """A common nickname for a first name (Robert → Bob), if one is known."""
    nicks = sorted(n for n in _NICK.nicknames_of(name.lower()) if len(n) >= 3 and n.isalpha())
    return nicks[0].capitalize() if nicks else None


def _new_row(frame: pd.DataFrame, row: int, next_id: int) -> dict:
    rec = frame.iloc[row].to_dict()
    rec["id"] = next_id
    return rec


def inject_contact_duplicates(inj: Injector, n: int) -> None:
    """Copies of contacts that a steward would merge, by variation kind."""
    c = inj.tables["contact"]
    next_id = int(c.id.max()) + 1
    new_rows: list[dict] = []
    exact_groups: dict[str, list] = {"email": [], "phone": [], "name_company": []}
    has_phone = c.phone.notna().to_numpy()
    nick_ok = np.array([nickname_of(f) is not None for f in c.first_name])
    plans = [("exact", None), ("email_case", None), ("phone_format", has_phone), ("nickname", nick_ok),
             ("typo", None), ("swapped", None)]
    for kind, mask in plans:
        for r in inj.pick("contact", n, mask):
            dup = _new_row(c, r, next_id)
            next_id += 1
            orig_id = int(c.id.iat[r])
            shares = {"email", "phone", "name_company"}
            local, _, dom = (dup["email"] or "").partition("@")
            if kind == "email_case":
                dup["email"] = local.upper() + "@" + dom
                inj.mark_keys("email_case", "contact", [dup["id"]])
            elif kind == "phone_format":
                dup["phone"] = reformat_phone(inj, dup["phone"])
                dup["email"], shares = None, {"phone", "name_company"}
                inj.mark_keys("phone_not_e164", "contact", [dup["id"]])
            elif kind in ("nickname", "typo", "swapped"):
                dup["phone"] = dup["mobile"] = None
                shares = set()
                if kind == "nickname":
                    dup["first_name"] = nickname_of(dup["first_name"])
                    free = _country(dup["country"]).free_mail
                    dup["email"] = f"{ascii_fold(dup['first_name'])}.{ascii_fold(dup['last_name'])}{next_id}@{free[-1]}"
                elif kind == "typo":
                    dup["last_name"] = typo(inj.rng, dup["last_name"])
                    dup["email"] = f"{typo(inj.rng, local)}@{dom}"
                else:
                    dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
                    dup["email"] = None
                    inj.mark_keys("swapped_names", "contact", [dup["id"]])
                    inj.mark_keys("no_contact_method", "contact", [dup["id"]])
            if dup["phone"] is None and dup["mobile"] is None:
                shares.discard("phone")
            for key in shares:
                exact_groups[key].append([str(orig_id), str(dup["id"])])
            inj.clusters.append({"entity": "contact", "kind": kind, "keys": [str(orig_id), str(dup["id"])]})
            new_rows.append(dup)
    inj.tables["contact"] = pd.concat([c, pd.DataFrame(new_rows)], ignore_index=True)
    inj.exact_groups["contact"] = exact_groups


def inject_account_defects(inj: Injector, n: int) -> None:
    """Accounts entered twice under legal-suffix and case variants; soft-deleted accounts."""
    from cleanco import basename

    a = inj.tables["account"]
    next_id = int(a.id.max()) + 1
    new_rows, groups = [], []
    for r in inj.pick("account", n):
        core = basename(a.name.iat[r])
        for _ in range(10):
            variant = core + inj.choice(COMPANY_SUFFIXES)
            variant = inj.choice([variant, variant.upper(), variant.lower()])
            if basename(variant).casefold() == core.casefold() and variant != a.name.iat[r]:
                break
        else:
            continue
        dup = _new_row(a, r, next_id)
        next_id += 1
        dup["name"] = variant
        new_rows.append(dup)
        keys = [str(a.id.iat[r]), str(dup["id"])]
        groups.append(keys)
        inj.clusters.append({"entity": "account", "kind": "company_suffix", "keys": keys})
    inj.tables["account"] = pd.concat([a, pd.DataFrame(new_rows)], ignore_index=True)
    inj.exact_groups["account"] = {"name": groups, "phone": groups}  # the copy keeps the switchboard


def inject_lead_defects(inj: Injector, n: int) -> None:
    """Leads without a company, untouched open leads, leads that duplicate a contact."""
    lead = inj.tables["lead"]
    for r in inj.pick("lead", n):
        inj.set("lead", r, "company", inj.choice([None, "", "Unknown", "-"]), "required_missing")
        inj.mark("required_missing", "lead", [r])
    open_ = lead.status.isin(LEAD_OPEN_STATUSES).to_numpy()
    for r in inj.pick("lead", n, open_):
        modified = pd.Timestamp(inj.as_of) - pd.Timedelta(days=int(inj.rng.integers(35, 200)))
        inj.set("lead", r, "modified_at", modified, "lead_untouched")
        inj.set("lead", r, "created_at", min(lead.created_at.iat[r], modified), "lead_untouched")
        inj.mark("lead_untouched", "lead", [r])
    contacts = inj.tables["contact"]
    untouched = np.ones(len(contacts), bool)
    untouched[list(inj.used["contact"])] = False
    untouched &= contacts.id.to_numpy() <= inj.original_max["contact"]
    ok = untouched & (contacts.deleted == 0).to_numpy()
    accounts = inj.tables["account"].set_index("id").name
    pool = np.flatnonzero(ok)  # a small demo may have fewer untouched contacts than leads to copy them into
    picked = inj.rng.choice(pool, min(n, len(pool)), replace=False) if len(pool) else pool
    for r, crow in zip(inj.pick("lead", n), picked, strict=False):
        for column in ("first_name", "last_name", "email", "phone", "mobile", "country", "city", "postal_code",
                       "state"):
            inj.set("lead", r, column, contacts[column].iat[crow], "lead_duplicates_contact")
        inj.set("lead", r, "company", accounts.get(contacts.account_id.iat[crow], None), "lead_duplicates_contact")
        inj.mark("lead_duplicates_contact", "lead", [r])
        inj.lead_contact.append({"lead": str(lead.id.iat[r]), "contact": str(contacts.id.iat[crow])})


def inject_enrichment_gaps(inj: Injector, n: int) -> None:
    """Empty fields the record's other values give (the enrichment checks' opportunities), one kind per record.

    Leads without a country: with a phone written with its country code (US, DE, FR, whose postal
    codes fit many countries' formats), or without phones and with a GB or NL postal code, which
    only that country writes. US contacts without a state; leads whose full name is in the last
    name; contacts whose job function or seniority is empty or reads otherwise than the title;
    leads with a business email at their company's domain and no website.
    """
    lead, contact = inj.tables["lead"], inj.tables["contact"]
    has_phone = (lead.phone.notna() | lead.mobile.notna()).to_numpy()
    for r in inj.pick("lead", n, has_phone & lead.country.isin(["US", "DE", "FR"]).to_numpy()):
        inj.set("lead", r, "country", None, "country_from_phone")
        inj.mark("country_from_phone", "lead", [r])
    for r in inj.pick("lead", n, lead.country.isin(["GB", "NL"]).to_numpy()):
        for column in ("country", "phone", "mobile"):
            inj.set("lead", r, column, None, "country_from_postal")
        inj.mark("country_from_postal", "lead", [r])
    original = (contact.id <= inj.original_max["contact"]).to_numpy()
    for r in inj.pick("contact", n, original & (contact.country == "US").to_numpy()):
        inj.set("contact", r, "state", None, "state_from_postal")
        inj.mark("state_from_postal", "contact", [r])
    for r in inj.pick("lead", n):
        full = f"{inj.col('lead', r, 'first_name')} {inj.col('lead', r, 'last_name')}"
        inj.set("lead", r, "first_name", None, "name_split")
        inj.set("lead", r, "last_name", full, "name_split")
        inj.mark("name_split", "lead", [r])
    for r in inj.pick("contact", n, original):
        variant = inj.rng.integers(0, 3)
        if variant < 2:  # left empty
            inj.set("contact", r, ("job_function", "seniority")[variant], None, "title_function")
        else:  # a function the title does not read as
            wrong = "Marketing" if inj.col("contact", r, "job_function") != "Marketing" else "Finance"
            inj.set("contact", r, "job_function", wrong, "title_function")
        inj.mark("title_function", "contact", [r])
    seen = set(contact.email.dropna()) | set(lead.email.dropna())
    tlds = {c.code: c.company_tld for c in COUNTRIES}
    for r in inj.pick("lead", n, lead.company.notna().to_numpy()):
        local = inj.col("lead", r, "email").partition("@")[0]
        address = f"{local}@{company_domain(inj.col('lead', r, 'company'), tlds[inj.col('lead', r, 'country')])}"
        if address in seen:
            continue
        seen.add(address)
        inj.set("lead", r, "email", address, "website_domain")
        inj.set("lead", r, "website", None, "website_domain")
        inj.mark("website_domain", "lead", [r])


def inject_opportunity_defects(inj: Injector, n: int) -> None:
    """Won deals without amount, close dates before creation, open deals past their close date."""
    o = inj.tables["opportunity"]
    as_of = pd.Timestamp(inj.as_of)
    for r in inj.pick("opportunity", n, (o.stage == WON).to_numpy()):
        inj.set("opportunity", r, "amount", inj.choice([None, 0.0]), "won_without_amount")
        inj.mark("won_without_amount", "opportunity", [r])
    for r in inj.pick("opportunity", n, o.stage.isin([WON, LOST]).to_numpy()):
        created = o.created_at.iat[r]
        inj.set("opportunity", r, "close_date", (created - pd.Timedelta(days=int(inj.rng.integers(2, 60)))).date(),
                "close_before_created")
        inj.mark("close_before_created", "opportunity", [r])
    past = (o.stage.isin(OPEN_STAGES) & (o.created_at < as_of - pd.Timedelta(days=100))).to_numpy()
    for r in inj.pick("opportunity", n, past):
        inj.set("opportunity", r, "close_date", (as_of - pd.Timedelta(days=int(inj.rng.integers(1, 90)))).date(),
                "deal_past_close")
        inj.mark("deal_past_close", "opportunity", [r])


def add_soft_deleted(inj: Injector, entity: str, n: int) -> None:
    """Soft-deleted copies full of defects: no check may ever count them."""
    frame = inj.tables[entity]
    next_id = int(frame.id.max()) + 1
    rows = inj.rng.choice(np.flatnonzero((frame.deleted == 0).to_numpy()), n, replace=False)
    new = []
    for r in rows:
        rec = _new_row(frame, r, next_id)
        next_id += 1
        rec["deleted"] = 1
        for column, bad in (("email", "test@test.com"), ("phone", "000-000-0000"), ("country", "USA"),
                            ("first_name", "ASDF"), ("last_name", "???"), ("name", "ACME INC"), ("owner_id", None),
                            ("company", None), ("amount", None), ("postal_code", "1")):
            if column in rec:
                rec[column] = bad
        rec["modified_at"] = pd.Timestamp(inj.as_of) - timedelta(days=3000)
        new.append(rec)
    inj.tables[entity] = pd.concat([frame, pd.DataFrame(new)], ignore_index=True)
    inj.soft_deleted.setdefault(entity, []).extend(str(r["id"]) for r in new)
