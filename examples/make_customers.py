"""Generate the example customer files the demo imports (deterministic: same seed, same bytes).

    python examples/make_customers.py

rewrites ``examples/customers.csv`` (240 valid customers of the five salespeople in
``cadence.toml``) and ``examples/customers-with-errors.csv`` (10 rows, 4 of them bad, for the
import demo). Only the standard library is used, so the script runs anywhere.

The data is anchored to a fixed day, :data:`TODAY` (2026-11-23), never to the real clock: the
edge cases below ("cancelled last week", "anniversary within the next 90 days", "joined a month
ago") are edge cases relative to that day, and re-running the script must not change the file.

Every row is valid. The file deliberately covers what the importer and the planner must handle:
every status (cancellations recent and old, do-not-contact), every segment plus unknown and
empty ones (they fall back to ``default``), customers in onboarding and customers who start in
the coming weeks, 29 February start dates, anniversaries (1, 5, 10, 15 years) inside the
90-day horizon, never-contacted customers, Friday-Saturday weekends (Saudi Arabia, Bangladesh),
zones far from their salesperson (Sydney and Tokyo for Los Angeles), customer-specific busy
seasons, an empty time zone (policy default), and dates written as ``2019-03-15``,
``15 March 2019``, ``March 2019``, ``15/03/2019`` and with Spanish, German, Hindi and Arabic month
names. An extra column, ``account_tier``, is not one cadence knows: it is kept as a tag.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

SEED = 20261123
TODAY = date(2026, 11, 23)
N_CUSTOMERS = 240
HERE = Path(__file__).resolve().parent

COLUMNS = (
    "id",
    "name",
    "owner",
    "segment",
    "emails",
    "domains",
    "industry",
    "country",
    "timezone",
    "customer_since",
    "status",
    "cancelled_on",
    "busy_seasons",
    "last_contact",
    "account_tier",
)
DATE_COLUMNS = ("customer_since", "cancelled_on", "last_contact")

# Each salesperson's territory: (country, IANA zone, weight). Owners match cadence.toml.
TERRITORIES: dict[str, list[tuple[str, str, int]]] = {
    "ana@example.com": [
        ("PT", "Europe/Lisbon", 10),
        ("ES", "Europe/Madrid", 10),
        ("BR", "America/Sao_Paulo", 6),
        ("MX", "America/Mexico_City", 5),
        ("CO", "America/Bogota", 3),
        ("AR", "America/Argentina/Buenos_Aires", 3),
    ],
    "ben@example.com": [
        ("US", "America/New_York", 14),
        ("US", "America/Chicago", 7),
        ("CA", "America/Toronto", 5),
        ("GB", "Europe/London", 8),
        ("IE", "Europe/Dublin", 3),
    ],
    "chloe@example.com": [
        ("FR", "Europe/Paris", 10),
        ("DE", "Europe/Berlin", 8),
        ("CH", "Europe/Zurich", 3),
        ("NL", "Europe/Amsterdam", 3),
        ("IT", "Europe/Rome", 3),
        ("SE", "Europe/Stockholm", 2),
        ("PL", "Europe/Warsaw", 2),
        ("ZA", "Africa/Johannesburg", 2),
        ("SA", "Asia/Riyadh", 3),
    ],
    "dev@example.com": [
        ("IN", "Asia/Kolkata", 20),
        ("BD", "Asia/Dhaka", 4),
        ("NP", "Asia/Kathmandu", 3),
        ("SG", "Asia/Singapore", 3),
        ("AE", "Asia/Dubai", 4),
        ("SA", "Asia/Riyadh", 3),
    ],
    "emily@example.com": [
        ("US", "America/Los_Angeles", 10),
        ("US", "America/Denver", 3),
        ("US", "America/Phoenix", 2),  # Arizona: no daylight saving time
        ("CA", "America/Vancouver", 3),
        ("JP", "Asia/Tokyo", 5),
        ("KR", "Asia/Seoul", 3),
        ("AU", "Australia/Sydney", 5),
        ("NZ", "Pacific/Auckland", 2),
    ],
}
# Where public holidays differ inside a country, the customer file names the subdivision (ISO
# 3166-2), picked from these by the customer's number: regional holidays on the customer side.
SUBDIVISIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("PT", "Europe/Lisbon"): ("PT-11", "PT-13"),  # Lisboa, Porto
    ("ES", "Europe/Madrid"): ("ES-MD", "ES-CT", "ES-AN"),
    ("BR", "America/Sao_Paulo"): ("BR-SP", "BR-RJ"),
    ("AR", "America/Argentina/Buenos_Aires"): ("AR-C",),
    ("US", "America/New_York"): ("US-NY", "US-MA", "US-GA", "US-FL"),
    ("US", "America/Chicago"): ("US-IL", "US-TX"),
    ("US", "America/Los_Angeles"): ("US-CA", "US-WA"),
    ("US", "America/Denver"): ("US-CO",),
    ("US", "America/Phoenix"): ("US-AZ",),
    ("CA", "America/Toronto"): ("CA-ON",),
    ("CA", "America/Vancouver"): ("CA-BC",),
    ("GB", "Europe/London"): ("GB-ENG", "GB-ENG", "GB-SCT", "GB-WLS"),
    ("FR", "Europe/Paris"): ("FR-6AE", "FR-57"),  # Alsace and Moselle keep their own holidays
    ("DE", "Europe/Berlin"): ("DE-BE", "DE-BY", "DE-HH", "DE-NW", "DE-HE"),
    ("CH", "Europe/Zurich"): ("CH-ZH", "CH-GE", "CH-BE"),
    ("IT", "Europe/Rome"): ("IT-RM", "IT-MI"),
    ("IN", "Asia/Kolkata"): ("IN-MH", "IN-KA", "IN-TN", "IN-WB", "IN-GJ"),
    ("AU", "Australia/Sydney"): ("AU-NSW",),
    ("NZ", "Pacific/Auckland"): ("NZ-AUK",),
}
OWNER_WEIGHTS = {
    "ana@example.com": 5,
    "ben@example.com": 6,
    "chloe@example.com": 5,
    "dev@example.com": 5,
    "emily@example.com": 4,
}

LEGAL_FORMS = {
    "GB": ["Ltd"],
    "IE": ["Ltd"],
    "US": ["Inc.", "LLC", "Co."],
    "CA": ["Inc.", "Ltd"],
    "PT": ["Lda."],
    "ES": ["S.L.", "S.A."],
    "MX": ["S.A. de C.V."],
    "CO": ["S.A.S."],
    "AR": ["S.R.L."],
    "BR": ["Ltda."],
    "FR": ["SARL", "SAS"],
    "DE": ["GmbH", "KG"],
    "CH": ["AG", "GmbH"],
    "NL": ["B.V."],
    "IT": ["S.r.l."],
    "SE": ["AB"],
    "PL": ["sp. z o.o."],
    "ZA": ["(Pty) Ltd"],
    "SA": ["Co.", "Trading Est."],
    "AE": ["LLC", "FZE"],
    "IN": ["Pvt Ltd"],
    "BD": ["Ltd"],
    "NP": ["Pvt. Ltd."],
    "SG": ["Pte Ltd"],
    "JP": ["K.K."],
    "KR": ["Co., Ltd."],
    "AU": ["Pty Ltd"],
    "NZ": ["Ltd"],
}
TLD = {
    "GB": "co.uk",
    "IE": "ie",
    "US": "com",
    "CA": "ca",
    "PT": "pt",
    "ES": "es",
    "MX": "com.mx",
    "CO": "com.co",
    "AR": "com.ar",
    "BR": "com.br",
    "FR": "fr",
    "DE": "de",
    "CH": "ch",
    "NL": "nl",
    "IT": "it",
    "SE": "se",
    "PL": "pl",
    "ZA": "co.za",
    "SA": "com.sa",
    "AE": "ae",
    "IN": "in",
    "BD": "com.bd",
    "NP": "com.np",
    "SG": "com.sg",
    "JP": "co.jp",
    "KR": "co.kr",
    "AU": "com.au",
    "NZ": "co.nz",
}


def _names(text: str) -> list[str]:
    """A comma-separated list of names (keeps the tables below compact)."""
    return [part.strip() for part in text.split(",")]


# Company-name stems and contact people, per country or group of countries.
REGION = {
    **dict.fromkeys(["GB", "IE", "US", "CA"], "en"),
    **dict.fromkeys(["PT", "ES", "MX", "CO", "AR", "BR"], "ib"),
    **dict.fromkeys(["DE", "CH"], "de"),
    **dict.fromkeys(["SA", "AE"], "ar"),
    **dict.fromkeys(["AU", "NZ"], "oc"),
    **{c: c.lower() for c in ["FR", "NL", "IT", "SE", "PL", "ZA", "IN", "BD", "NP", "SG", "JP"]},
    "KR": "kr",
}
STEMS = {
    "en": _names(
        "Northwind, Harbourside, Bluebell, Kestrel, Oakridge, Silverline, Meadowbrook, "
        "Blackwater, Redfern, Ashford, Lighthouse, Foxglove, Pinecrest, Riverbend, Copperfield, "
        "Brightwater, Evergreen, Westgate, Stonebridge, Larkspur, Marlowe, Thistle, Juniper, "
        "Wrenfield, Clearwater, Highland, Hawthorn, Greyfriars, Lakeshore, Bramble"
    ),
    "ib": _names(
        "Sol y Mar, Hermanos Ortega, Costa Verde, Los Almendros, Río Claro, Santa Clara, "
        "La Esperanza, Monte Azul, Vila Nova, Alvorada, Pinheiro, Girasol, El Roble, Tres Picos, "
        "Atlântico, Andorinha, Cerro Alto, Douro"
    ),
    "de": _names(
        "Bergmann, Rheintal, Schwarzwald, Adler, Lindenhof, Müller & Söhne, Alpenblick, "
        "Sonnenfeld, Falkenstein, Edelweiss, Hofmann, Elbufer"
    ),
    "fr": _names("Bellevue, Lumière, Beaulieu, Les Trois Chênes, Maison Dupont, Provence, Loire"),
    "nl": _names("Van der Berg, Oranje, Delta, Zuiderzee"),
    "it": _names("Villa Rosa, Fiorentina, Castello, Dolomiti"),
    "se": _names("Nordljus, Björkvik, Skärgård"),
    "pl": _names("Wisła, Tatry, Bursztyn"),
    "za": _names("Protea, Table Mountain, Karoo"),
    "ar": _names("Al Noor, Al Madina, Al Waha, Najd, Al Safa, Dar Al Khaleej, Al Rawda"),
    "in": _names("Sharma, Lakshmi, Ganga, Shree Ganesh, Kaveri, Saraswati, Nilgiri, Deccan"),
    "bd": _names("Sundarban, Padma, Jamuna, Meghna, Sonar Bangla"),
    "np": _names("Himalaya, Annapurna, Everest, Lumbini, Pokhara"),
    "sg": _names("Merlion, Orchid, Straits, Lion City"),
    "jp": _names("Sakura, Fujimoto, Hikari, Kiku, Aoi, Yamato"),
    "kr": _names("Hanbit, Mirae, Hangang, Baekdu"),
    "oc": _names("Wattle, Kookaburra, Southern Cross, Tasman, Coral Sea, Kauri, Ironbark"),
}
PEOPLE = {
    "en": _names("james.wright, emma.hughes, olivia.brown, liam.murphy, sarah.oconnor"),
    "ib": _names("maria.garcia, joao.santos, lucia.fernandez, pedro.almeida, diego.lopez"),
    "de": _names("jonas.schmidt, lena.fischer, felix.wagner, anna.becker"),
    "fr": _names("julie.bernard, thomas.petit, camille.moreau"),
    "nl": _names("sanne.dejong, daan.bakker"),
    "it": _names("marco.rossi, giulia.ferrari"),
    "se": _names("erik.lindqvist, karin.berg"),
    "pl": _names("kasia.nowak, piotr.wojcik"),
    "za": _names("thabo.nkosi, anneke.vanwyk"),
    "ar": _names("omar.alharbi, fatima.alqahtani, khalid.almansoori"),
    "in": _names("priya.iyer, rahul.verma, anita.reddy"),
    "bd": _names("farhana.rahman, tanvir.hossain"),
    "np": _names("sanjay.shrestha, anita.gurung"),
    "sg": _names("wei.lim, priya.nair"),
    "jp": _names("yuki.tanaka, haruto.sato, aiko.yamamoto"),
    "kr": _names("minji.kim, jisoo.park"),
    "oc": _names("jack.wilson, chloe.taylor, aroha.ngata"),
}
ROLES = ["accounts", "office", "info", "purchasing", "admin"]

INDUSTRIES = {
    "retail": ["Outfitters", "Home Goods", "Market", "Stores", "Boutique", "Trading", "Hardware"],
    "accounting": ["Accountants", "Tax Advisors", "Audit", "Bookkeeping", "& Partners"],
    "agriculture": ["Farms", "Agri", "Growers", "Seeds", "Orchards", "Dairy"],
    "education": ["Academy", "Learning", "Language School", "Tutoring", "College"],
    "hospitality": ["Hotels", "Inns", "Resorts", "Catering"],
    "manufacturing": ["Manufacturing", "Engineering", "Tooling", "Components", "Industries"],
    "logistics": ["Logistics", "Freight", "Shipping", "Couriers"],
    "software": ["Software", "Labs", "Digital", "Systems", "Analytics"],
    "healthcare": ["Clinics", "Health", "Dental", "Medical"],
    "construction": ["Builders", "Construction", "Architects", "Roofing"],
}
INDUSTRY_WEIGHTS = {
    "retail": 9,
    "accounting": 7,
    "agriculture": 6,
    "education": 4,
    "hospitality": 4,
    "manufacturing": 6,
    "logistics": 4,
    "software": 6,
    "healthcare": 4,
    "construction": 3,
}
SEGMENT_WEIGHTS = {"strategic": 2, "growth": 4, "smb": 6, "default": 5}
TIERS = {
    "strategic": "Gold",
    "growth": "Silver",
    "smb": "Bronze",
    "default": "Silver",
}

# Customer-specific busy seasons, in the syntax of the policy files (several with ';').
OWN_SEASONS = [
    "Jul 1 - Aug 15;Dec 20 - Jan 3",
    "August",
    "Dec 20 - Jan 3",
    "Mar 1 - Mar 31",
    "15 June - 31 July",
    "Jul 15 - Aug 31",
    "Feb 1 .. Feb 20",
    "Sep 1 to Sep 30",
    "2027-01-11 - 2027-01-22",  # a one-off: this year's stocktake
    "June;December",
    "Oct 1 - Oct 15;Mar 20 - Apr 5",
]
SOUTHERN_SUMMER = "Dec 20 - Jan 31"  # southern hemisphere summer holidays
RAMADAN_2027 = "2027-02-08 - 2027-03-09"  # a one-off season: Ramadan moves every year

MONTHS = {
    "en": _names(
        "January, February, March, April, May, June, July, August, September, October, "
        "November, December"
    ),
    "es": _names(
        "enero, febrero, marzo, abril, mayo, junio, julio, agosto, septiembre, octubre, "
        "noviembre, diciembre"
    ),
    "de": _names(
        "Januar, Februar, März, April, Mai, Juni, Juli, August, September, Oktober, November, "
        "Dezember"
    ),
    "hi": _names("जनवरी, फ़रवरी, मार्च, अप्रैल, मई, जून, जुलाई, अगस्त, सितंबर, अक्टूबर, नवंबर, दिसंबर"),
    "ar": _names(
        "يناير, فبراير, مارس, أبريل, مايو, يونيو, يوليو, أغسطس, سبتمبر, أكتوبر, نوفمبر, ديسمبر"
    ),
}


def format_date(d: date | None, style: str) -> str:
    """Write ``d`` the way a person might have typed it (``style`` picks the way)."""
    if d is None:
        return ""
    match style:
        case "iso":
            return d.isoformat()
        case "long":
            return f"{d.day} {MONTHS['en'][d.month - 1]} {d.year}"
        case "month":  # only the month: read back as the 1st
            return f"{MONTHS['en'][d.month - 1]} {d.year}"
        case "dmy":
            return f"{d.day:02d}/{d.month:02d}/{d.year}"
        case "es":
            return f"{d.day} de {MONTHS['es'][d.month - 1]} de {d.year}"
        case "de":
            return f"{d.day}. {MONTHS['de'][d.month - 1]} {d.year}"
        case "hi" | "ar":
            return f"{d.day} {MONTHS[style][d.month - 1]} {d.year}"
    raise ValueError(f"unknown date style {style!r}")


@dataclass
class Draft:
    """One customer before it is written: dates as dates, plus how to write them."""

    owner: str
    country: str
    zone: str
    segment: str
    industry: str
    customer_since: date | None
    status: str = "active"
    cancelled_on: date | None = None
    last_contact: date | None = None
    busy_seasons: str = ""
    date_style: str = "iso"
    write_zone: bool = True
    tier: str = ""
    free_mail: bool = False  # uses a gmail/outlook address: no company domain
    name: str = ""
    id: str = ""
    emails: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)

    def expected(self, column: str) -> date | None:
        """The date a correct reader must get from this row's ``column``."""
        value: date | None = getattr(self, column)
        if value is not None and column == "customer_since" and self.date_style == "month":
            return value.replace(day=1)
        return value

    @property
    def region(self) -> str:
        """The country, or its subdivision where holidays differ inside the country."""
        options = SUBDIVISIONS.get((self.country, self.zone))
        if not options:
            return self.country
        number = int("".join(ch for ch in self.id if ch.isdigit()) or 0)
        return options[number % len(options)]

    def row(self) -> dict[str, str]:
        """The CSV row (text)."""
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "segment": self.segment,
            "emails": ";".join(self.emails),
            "domains": ";".join(self.domains),
            "industry": self.industry,
            "country": self.region,
            "timezone": self.zone if self.write_zone else "",
            "customer_since": format_date(self.customer_since, self.date_style),
            "status": self.status,
            "cancelled_on": format_date(self.cancelled_on, self._style_for_event()),
            "busy_seasons": self.busy_seasons,
            "last_contact": format_date(self.last_contact, self._style_for_event()),
            "account_tier": self.tier,
        }

    def _style_for_event(self) -> str:
        # A month alone is too vague for a cancellation or a last contact: write the day.
        return "long" if self.date_style == "month" else self.date_style


class Generator:
    """Builds the drafts from one seeded random source, in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names: set[str] = set()

    def pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def place(self, owner: str | None = None, country: str | None = None) -> tuple[str, str, str]:
        """An (owner, country, zone) triple, honouring what is fixed."""
        if owner is None and country is not None:
            owner = self.rng.choice(
                [o for o, t in TERRITORIES.items() if any(c == country for c, _, _ in t)]
            )
        owner = owner or self.pick(OWNER_WEIGHTS)
        options = [t for t in TERRITORIES[owner] if country is None or t[0] == country]
        c, zone, _ = self.rng.choices(options, weights=[w for _, _, w in options])[0]
        return owner, c, zone

    def since(self) -> date:
        """A start date between 2012 and two months ago, more of them recent."""
        first, last = date(2012, 1, 1), TODAY - timedelta(days=75)
        span = (last - first).days
        return first + timedelta(days=round(self.rng.triangular(0, span, span * 0.8)))

    def last_contact(self, since: date, until: date = TODAY) -> date | None:
        """Recent for most, old for some, none (never contacted) for a few."""
        r = self.rng.random()
        if r < 0.12:
            return None
        if r < 0.67:
            back = self.rng.randint(1, 120)
        elif r < 0.87:
            back = self.rng.randint(121, 400)
        else:
            back = self.rng.randint(401, 1100)
        return max(since, until - timedelta(days=back))

    def draft(self, owner: str | None = None, country: str | None = None, **fixed: object) -> Draft:
        """A random active customer; ``fixed`` pins any :class:`Draft` field."""
        owner, country, zone = self.place(owner, country)
        d = Draft(
            owner=owner,
            country=country,
            zone=zone,
            segment=self.pick(SEGMENT_WEIGHTS),
            industry=self.pick(INDUSTRY_WEIGHTS),
            customer_since=self.since(),
        )
        d = replace(d, **fixed)  # type: ignore[arg-type]
        if "tier" not in fixed and self.rng.random() < 0.85:
            d.tier = TIERS.get(d.segment, "")
        if "last_contact" not in fixed and d.customer_since is not None:
            d.last_contact = self.last_contact(d.customer_since)
        if "busy_seasons" not in fixed and self.rng.random() < 0.09:
            d.busy_seasons = self.rng.choice(OWN_SEASONS)
        if "date_style" not in fixed:
            d.date_style = self.date_style(d)
        return d

    def date_style(self, d: Draft) -> str:
        """Most dates ISO; people in Spain, Latin America and Germany write their own months."""
        r = self.rng.random()
        if d.country in ("ES", "MX", "CO", "AR") and r < 0.3:
            return "es"
        if d.country in ("DE", "CH") and r < 0.3:
            return "de"
        if r < 0.62:
            return "iso"
        if r < 0.82:
            return "long"
        if r < 0.92:
            return "dmy"
        old = d.customer_since is not None and d.customer_since.year < 2024
        return "month" if old else "long"

    def finish(self, d: Draft) -> None:
        """Give the draft a unique realistic name, its addresses and domains."""
        region = REGION[d.country]
        words = INDUSTRIES.get(d.industry.lower(), INDUSTRIES["software"])
        for _ in range(60):
            base = f"{self.rng.choice(STEMS[region])} {self.rng.choice(words)}"
            if base not in self.names:
                break
        else:  # every combination taken: name the branch after its city
            base = f"{base} {d.zone.rsplit('/', 1)[-1].replace('_', ' ')}"
        self.names.add(base)
        d.name = f"{base} {self.rng.choice(LEGAL_FORMS[d.country])}"
        slug = _slug(base)
        people = self.rng.sample(PEOPLE[region], k=self.rng.choice((1, 1, 2)))
        if d.free_mail:
            provider = self.rng.choice(("gmail.com", "outlook.com"))
            d.emails = [f"{slug}.{people[0].split('.')[0]}@{provider}"]
            d.domains = []
            return
        domain = f"{slug}.{TLD[d.country]}"
        d.emails = [f"{p}@{domain}" for p in people]
        if self.rng.random() < 0.3:
            d.emails.append(f"{self.rng.choice(ROLES)}@{domain}")
        d.domains = [domain]
        if self.rng.random() < 0.06:  # part of a group with its own mail domain
            d.domains.append(f"{slug}-group.com")


# Letters that do not decompose into an ASCII base letter.
_TRANSLIT = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "ß": "ss", "æ": "ae"})


def _slug(text: str) -> str:
    """``Müller & Söhne Farms`` -> ``mullersohnefarms`` (for mail domains)."""
    plain = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    ascii_text = plain.encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _special_cases(g: Generator) -> list[Draft]:
    """The edge cases, pinned; the rest of the file is random."""
    days = timedelta
    out: list[Draft] = []
    # Onboarding: joined within the last two months (the kick-off call counts as a contact).
    for back, segment in [
        (3, "strategic"),
        (6, "growth"),
        (10, "smb"),
        (18, "strategic"),
        (25, "default"),
        (33, "growth"),
        (41, "strategic"),
        (50, "smb"),
        (57, "growth"),
    ]:
        since = TODAY - days(back)
        kickoff = since if back % 2 else None
        out.append(g.draft(segment=segment, customer_since=since, last_contact=kickoff))
    # Contracts signed, starting in the coming weeks.
    for ahead, segment in [(7, "strategic"), (14, "growth"), (24, "smb")]:
        out.append(g.draft(segment=segment, customer_since=TODAY + days(ahead), last_contact=None))
    # 29 February starts: the anniversary falls on 28 February in other years.
    for since, segment, style in [
        (date(2016, 2, 29), "strategic", "iso"),
        (date(2020, 2, 29), "growth", "long"),
        (date(2020, 2, 29), "smb", "iso"),
        (date(2024, 2, 29), "default", "dmy"),
    ]:
        out.append(g.draft(segment=segment, customer_since=since, date_style=style))
    # Anniversaries inside the 90-day horizon, with 1, 5, 10 and 15-year milestones.
    for since in [
        date(2025, 12, 4),
        date(2026, 1, 14),
        date(2021, 12, 9),
        date(2022, 2, 3),
        date(2016, 12, 15),
        date(2017, 1, 26),
        date(2012, 2, 16),
        date(2019, 11, 25),
        date(2023, 11, 23),
    ]:
        out.append(g.draft(customer_since=since, date_style="iso"))
    # Cancelled within the last year (the win-back track), one of them last Friday.
    for back in [3, 1, 9, 21, 40, 75, 120, 190, 260, 340]:
        cancelled = TODAY - days(back)
        d = g.draft(status="cancelled", cancelled_on=cancelled)
        d.customer_since = min(d.customer_since or cancelled, cancelled - days(200))
        d.last_contact = g.last_contact(d.customer_since, until=cancelled)
        out.append(d)
    # Cancelled more than a year ago: the win-back track is over, nothing more is booked.
    for back in [400, 550, 900]:
        cancelled = TODAY - days(back)
        d = g.draft(status="cancelled", cancelled_on=cancelled, date_style="iso")
        d.customer_since = min(d.customer_since or cancelled, cancelled - days(500))
        d.last_contact = g.last_contact(d.customer_since, until=cancelled)
        out.append(d)
    # Asked us not to contact them.
    out.extend(g.draft(status="do_not_contact") for _ in range(5))
    # Segments cadence does not know, and empty ones: both fall back to "default".
    out.extend(g.draft(segment=s) for s in ["enterprise", "partner", "legacy"])
    out.extend(g.draft(segment="") for _ in range(4))
    # Friday-Saturday weekends, half-hour and quarter-hour zones, far from their salesperson.
    for country in ["SA", "SA", "SA", "BD", "BD", "NP", "NP", "JP", "JP", "AU", "AU"]:
        out.append(g.draft(country=country))
    out[-11].busy_seasons = RAMADAN_2027
    out[-1].busy_seasons = SOUTHERN_SUMMER
    # Dates in the customer's own language (Hindi and Arabic month names).
    out.extend(g.draft(country=c, date_style=s) for c, s in [("IN", "hi")] * 2 + [("AE", "ar")] * 2)
    # Spanish and German month names, guaranteed a few times.
    out.extend(g.draft(country=c, date_style=s) for c, s in [("ES", "es")] * 3 + [("DE", "de")] * 3)
    # Customers without a time zone (the policy default, Europe/London, applies).
    out.extend(g.draft(country="GB", write_zone=False) for _ in range(3))
    # Small businesses writing from free mail accounts: an address but no company domain.
    out.extend(g.draft(segment="smb", free_mail=True) for _ in range(4))
    # Industry written with a capital, and customers with no industry at all.
    out.append(g.draft(industry="Retail"))
    out.extend(g.draft(industry="") for _ in range(2))
    # Customer-specific busy seasons on top of the industry's.
    out.extend(g.draft(busy_seasons=s) for s in OWN_SEASONS)
    return out


def build_customers(seed: int = SEED, n: int = N_CUSTOMERS) -> list[Draft]:
    """All customers, in file order, with ids ``C-1001``, ``C-1002``..."""
    g = Generator(seed)
    drafts = _special_cases(g)
    while len(drafts) < n:
        drafts.append(g.draft())
    g.rng.shuffle(drafts)
    for i, d in enumerate(drafts, start=1001):
        d.id = f"C-{i}"
        g.finish(d)
    return drafts


def build_error_rows(seed: int = SEED) -> list[Draft]:
    """Ten rows for the import demo: six good ones and four bad in four different ways."""
    g = Generator(seed + 1)
    drafts = [g.draft(status="active", date_style="iso") for _ in range(10)]
    for i, d in enumerate(drafts, start=9001):
        d.id = f"C-{i}"
        g.finish(d)
    return drafts


def render(drafts: list[Draft], bad: dict[int, tuple[str, str]] | None = None) -> str:
    """The CSV text; ``bad`` maps a row index to a (column, text) that spoils it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, d in enumerate(drafts):
        row = d.row()
        if bad and i in bad:
            column, text = bad[i]
            row[column] = text
        writer.writerow(row)
    return out.getvalue()


# The four broken rows of customers-with-errors.csv: (row index, column, bad text).
ERRORS = {
    1: ("owner", ""),  # missing owner
    3: ("customer_since", "31/02/2021"),  # no such date
    6: ("country", "ZZ"),  # not an ISO 3166 country code
    8: ("status", "churned"),  # not one of active, cancelled, do_not_contact
}


def main() -> None:
    """Rewrite both example files next to this script."""
    (HERE / "customers.csv").write_text(render(build_customers()), encoding="utf-8")
    (HERE / "customers-with-errors.csv").write_text(
        render(build_error_rows(), ERRORS), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
