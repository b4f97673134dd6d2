"""Reference lists, one of each: null tokens, placeholders, role mailboxes, mail providers, countries, names.

Every check, the exact-duplicate keys and the fuzzy duplicate pipeline read these lists (through
`checks.normalise`), so a value is never a placeholder for one and a person for another.
No PyPI package ships role addresses or placeholder lists, so they live here; disposable domains
come from `disposable-email-domains`, countries from `pycountry` plus the aliases it misses.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

# Text that stands for "no value" ('Unknown', '-', 'TBD' …): missing for every check and for matching.
NULL_TOKENS = frozenset({"unknown", "-", "--", "---", "tbd", "tba", "none", "null", "nil", "n.a.", ".", "..",
                         "not available", "not provided", "#n/a"})
JUNK_NAMES = frozenset({"asdf", "asdfg", "qwerty", "test", "testing", "xxx", "xxxx", "zzz", "zzzz", "aaa",
                        "aaaa", "abc", "n/a", "na", "???", "??", "?", "dummy", "fake", "sample", "jkl", "hjkl",
                        "no name", "noname", "first", "last", "firstname", "lastname"})
# Local parts and domains of addresses typed to get past a required field (test@test.com, noemail@…).
PLACEHOLDER_LOCALS = frozenset({"test", "noemail", "no-email", "no.email", "nomail", "none", "no", "na", "n/a",
                                "email", "unknown", "fake", "null", "asdf", "abc", "x", "xx", "xxx", "dummy",
                                "nobody", "noreply.placeholder", "donotemail"})
PLACEHOLDER_DOMAINS = frozenset({"test.com", "noemail.com", "nomail.com", "none.com", "email.com", "na.com",
                                 "unknown.com", "example.com", "example.org", "example.net", "invalid.com",
                                 "fake.com", "asdf.com", "xxx.com", "domain.com", "dummy.com"})
# Shared mailboxes: an address of a team, not of the person on the record.
ROLE_LOCALS = frozenset({"info", "sales", "support", "admin", "administrator", "noreply", "no-reply", "donotreply",
                         "do-not-reply", "contact", "billing", "marketing", "hello", "office", "team", "hr", "jobs",
                         "careers", "enquiries", "inquiries", "accounts", "help", "webmaster", "postmaster", "mail"})
# Consumer mailbox providers: the targets of domain-typo fixes, and no evidence of an employer when matching.
MAIL_PROVIDERS = ("gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
                  "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com",
                  "me.com", "mac.com", "protonmail.com", "proton.me", "mail.com", "gmx.de", "gmx.net", "web.de",
                  "t-online.de", "orange.fr", "free.fr", "laposte.net", "btinternet.com", "ziggo.nl", "kpnmail.nl",
                  "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "yandex.ru", "mail.ru")
# Domains that deliver to one mailbox under another name, and those that ignore dots in the local part.
MAIL_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
DOTS_IGNORED_DOMAINS = frozenset({"gmail.com"})
TLD_TYPOS = frozenset({"con", "cmo", "ocm", "cm", "om", "comm", "vom", "xom", "nte", "nett", "ner", "co"})
OPEN_LEAD_STATUSES = ("new", "working", "open", "contacted", "open - not contacted", "working - contacted",
                      "assigned", "in process")

# pycountry misses these spellings (and its fuzzy search maps "U.S." to the Virgin Islands); keys are
# lowercase with single spaces.
COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "u.s.": "US", "u.s.a.": "US", "us of a": "US", "united states": "US",
    "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "britain": "GB", "northern ireland": "GB",
    "deutschland": "DE", "germany": "DE", "allemagne": "DE", "bundesrepublik deutschland": "DE",
    "holland": "NL", "the netherlands": "NL", "nederland": "NL", "frankreich": "FR", "españa": "ES",
    "espana": "ES", "italia": "IT", "schweiz": "CH", "suisse": "CH", "österreich": "AT", "oesterreich": "AT",
    "osterreich": "AT", "belgique": "BE", "belgië": "BE", "danmark": "DK", "sverige": "SE", "norge": "NO",
    "polska": "PL", "brasil": "BR", "méxico": "MX", "mexico": "MX", "russia": "RU", "south korea": "KR",
    "korea": "KR", "uae": "AE", "türkiye": "TR", "turkey": "TR",
}
# Street words and their abbreviations, so "12 Main Street" and "12 Main St" are one address.
STREET_ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr",
    "lane": "ln", "boulevard": "blvd", "place": "pl", "court": "ct", "square": "sq",
    "highway": "hwy", "suite": "ste", "apartment": "apt", "north": "n", "south": "s",
    "east": "e", "west": "w", "strasse": "str", "straße": "str",
}

_NAME_LOCALES = ("en_US", "en_GB", "en_CA", "en_AU", "de_DE", "de_AT", "fr_FR", "nl_NL", "es_ES", "it_IT",
                 "pt_PT", "pt_BR", "pl_PL", "sv_SE", "da_DK", "no_NO")


def _names(provider, attrs: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attr in attrs:
        value = getattr(provider, attr, None)
        if value:
            out.update(n for n in value if isinstance(n, str))
    return out


@lru_cache(maxsize=1)
def name_dictionaries() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names) in lowercase, from Faker's person providers of many locales."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _NAME_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        first |= _names(provider, ("first_names", "first_names_male", "first_names_female"))
        last |= _names(provider, ("last_names",))
    return frozenset(n.lower() for n in first), frozenset(n.lower() for n in last)


# Job titles read as a function and a seniority (`values.job_profile`): (keywords, value) rules, the
# first rule with a keyword in the title wins, so the specific ones come first ("account executive"
# is Sales before "executive" is Executive; "vice president" is VP before "president" is C-level).
# Keywords are folded words or phrases (`normalise.fold`: lower case, no accents, punctuation as
# spaces). A value the team stored reads through the same rules ("Human Resources" is HR), so each
# value below is also a keyword of its own rule.
TITLE_FUNCTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sales", "account executive", "account manager", "key account", "business development", "bdr", "sdr",
      "revenue", "cro", "commercial"), "Sales"),
    (("marketing", "cmo", "brand", "growth", "communications", "content", "seo", "demand generation"), "Marketing"),
    (("hr", "human resources", "people", "talent", "recruiter", "recruiting", "recruitment", "chro"), "HR"),
    (("finance", "financial", "cfo", "accounting", "accountant", "controller", "treasurer", "bookkeeper"),
     "Finance"),
    (("legal", "counsel", "lawyer", "attorney", "compliance", "paralegal"), "Legal"),
    (("it", "cio", "ciso", "chief information", "information technology", "information security",
      "system administrator", "sysadmin", "network", "helpdesk", "help desk"), "IT"),
    (("support", "customer success", "customer service", "service desk"), "Support"),
    (("engineering", "engineer", "developer", "software", "cto", "technology", "technical", "devops",
      "programmer", "architect", "qa"), "Engineering"),
    (("product",), "Product"),
    (("procurement", "purchasing", "buyer", "sourcing"), "Procurement"),
    (("operations", "operating", "coo", "ops", "logistics", "supply chain", "office", "facilities"), "Operations"),
    (("consulting", "consultant", "advisor"), "Consulting"),
    (("executive", "ceo", "chief executive", "president", "founder", "cofounder", "co founder", "owner",
      "managing director", "general manager"), "Executive"),
)
INDIVIDUAL_CONTRIBUTOR = "Individual contributor"
# A title with a function and none of these words is an individual contributor's. Assistants and
# trainees first: "Executive Assistant to the CEO" is no C-level title, nor is "Product Owner".
TITLE_SENIORITIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("assistant", "intern", "trainee", "apprentice", "student", "product owner", "individual contributor", "ic"),
     INDIVIDUAL_CONTRIBUTOR),
    (("vp", "svp", "evp", "avp", "vice president"), "VP"),
    (("c level", "c suite", "cxo", "chief", "ceo", "cfo", "cto", "coo", "cmo", "cio", "ciso", "cro", "chro",
      "president", "founder", "cofounder", "co founder", "owner", "managing director"), "C-level"),
    (("director", "head"), "Director"),
    (("manager", "mgr", "supervisor"), "Manager"),
    (("senior", "sr", "lead", "principal"), "Senior"),
)
