"""Word lists and UK geography for the KPro sandbox's synthetic leads.

Everything here is data. Names, streets and occupations are common UK ones; housing
providers, developments and custom sources are **invented** (any likeness to a real
organisation is accidental). Local authorities are real councils with postcode districts
that lie in them, but their ``id`` and ``mapitId`` values are invented stand-ins, not
KPro's or MapIt's real references.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADDITIONAL_INFO",
    "CUSTOM_SOURCES",
    "DEVELOPMENT_PREFIXES",
    "DEVELOPMENT_SUFFIXES",
    "EMAIL_DOMAINS",
    "EMPLOYERS",
    "FEMALE_FIRST_NAMES",
    "HEAR_ABOUT_US",
    "HOUSING_PROVIDERS",
    "LAST_NAMES",
    "LOCAL_AUTHORITIES",
    "MALE_FIRST_NAMES",
    "OCCUPATIONS",
    "STREETS",
    "HousingProvider",
    "LocalAuthority",
]


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    """A council with the postcode districts the sandbox draws addresses from.

    Attributes:
        id: invented KPro local-authority id.
        name: short name, the value of ``homeLocalAuthority`` in string form.
        slug: URL slug.
        long_name: name with the type of council (``longName``).
        mapit_id: invented MapIt id, or ``None`` (the field is nullable).
        town: post town used in addresses.
        districts: outward codes (postcode districts) inside the authority.
    """

    id: int
    name: str
    slug: str
    long_name: str
    mapit_id: int | None
    town: str
    districts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HousingProvider:
    """An (invented) housing provider: ``housingProvider`` is ``{id, name, slug}``."""

    id: int
    name: str
    slug: str
    weight: int


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _la(
    id_: int,
    name: str,
    long_name: str,
    mapit_id: int | None,
    town: str,
    districts: str,
) -> LocalAuthority:
    slug = name.lower().replace("&", "and").replace(" ", "-")
    return LocalAuthority(id_, name, slug, long_name, mapit_id, town, tuple(districts.split()))


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    _la(101, "Camden", "London Borough of Camden", 2505, "London", "NW1 NW3 NW5 WC1X"),
    _la(102, "Hackney", "London Borough of Hackney", 2508, "London", "E5 E8 E9 N16"),
    _la(103, "Islington", "London Borough of Islington", 2507, "London", "N1 N5 N7 N19"),
    _la(104, "Lambeth", "London Borough of Lambeth", 2490, "London", "SE11 SW2 SW4 SW9"),
    _la(105, "Southwark", "London Borough of Southwark", 2491, "London", "SE1 SE5 SE15 SE16"),
    _la(106, "Tower Hamlets", "London Borough of Tower Hamlets", 2503, "London", "E1 E2 E3 E14"),
    _la(107, "Newham", "London Borough of Newham", 2492, "London", "E6 E7 E13 E15"),
    _la(108, "Greenwich", "Royal Borough of Greenwich", 2493, "London", "SE3 SE7 SE10 SE18"),
    _la(109, "Lewisham", "London Borough of Lewisham", 2497, "London", "SE4 SE6 SE13 SE23"),
    _la(110, "Croydon", "London Borough of Croydon", 2498, "Croydon", "CR0 CR2 CR7 SE25"),
    _la(111, "Barnet", "London Borough of Barnet", 2489, "London", "N2 N3 NW4 NW11 EN5"),
    _la(112, "Ealing", "London Borough of Ealing", 2500, "London", "W3 W5 W7 W13 UB6"),
    _la(113, "Brent", "London Borough of Brent", 2488, "London", "NW2 NW6 NW10 HA9"),
    _la(114, "Haringey", "London Borough of Haringey", 2494, "London", "N4 N8 N15 N17"),
    _la(115, "Wandsworth", "London Borough of Wandsworth", 2501, "London", "SW11 SW12 SW15 SW18"),
    _la(116, "Westminster", "Westminster City Council", 2504, "London", "W1W W2 SW1V NW8"),
    _la(201, "Manchester", "Manchester City Council", 2526, "Manchester", "M1 M4 M14 M20"),
    _la(202, "Salford", "Salford City Council", 2531, "Salford", "M5 M6 M7 M50"),
    _la(203, "Birmingham", "Birmingham City Council", 2514, "Birmingham", "B1 B5 B15 B29"),
    _la(204, "Leeds", "Leeds City Council", 2553, "Leeds", "LS1 LS6 LS11 LS17"),
    _la(205, "Bristol", "Bristol City Council", 2561, "Bristol", "BS1 BS3 BS5 BS7"),
    _la(206, "Milton Keynes", "Milton Keynes City Council", 2588, "Milton Keynes", "MK9 MK10 MK14"),
    _la(207, "Reading", "Reading Borough Council", 2596, "Reading", "RG1 RG2 RG30"),
    _la(208, "Cambridge", "Cambridge City Council", 2260, "Cambridge", "CB1 CB2 CB4"),
    _la(209, "Oxford", "Oxford City Council", 2233, "Oxford", "OX1 OX2 OX4"),
    _la(210, "Nottingham", "Nottingham City Council", 2565, "Nottingham", "NG1 NG5 NG7"),
    _la(211, "Leicester", "Leicester City Council", 2573, "Leicester", "LE1 LE2 LE4"),
    _la(212, "Sheffield", "Sheffield City Council", 2546, "Sheffield", "S1 S2 S10 S11"),
    _la(213, "Liverpool", "Liverpool City Council", 2530, "Liverpool", "L1 L8 L17 L18"),
    _la(214, "Newcastle upon Tyne", "Newcastle City Council", 2545, "Newcastle upon Tyne",
        "NE1 NE2 NE4 NE6"),
    _la(215, "Brighton & Hove", "Brighton & Hove City Council", None, "Brighton", "BN1 BN2 BN3"),
    _la(216, "Southampton", "Southampton City Council", 2613, "Southampton", "SO14 SO15 SO17"),
    _la(217, "Guildford", "Guildford Borough Council", 2452, "Guildford", "GU1 GU2 GU4"),
    _la(218, "Watford", "Watford Borough Council", 2419, "Watford", "WD17 WD18 WD24"),
    _la(219, "Chelmsford", "Chelmsford City Council", 2360, "Chelmsford", "CM1 CM2"),
    _la(220, "Basingstoke and Deane", "Basingstoke and Deane Borough Council", 2333,
        "Basingstoke", "RG21 RG22 RG24"),
    _la(221, "Swindon", "Swindon Borough Council", 2606, "Swindon", "SN1 SN2 SN25"),
    _la(222, "West Northamptonshire", "West Northamptonshire Council", None, "Northampton",
        "NN1 NN3 NN5"),
    _la(223, "Exeter", "Exeter City Council", 2280, "Exeter", "EX1 EX2 EX4"),
    _la(224, "York", "City of York Council", 2612, "York", "YO1 YO10 YO24"),
)  # fmt: skip
"""Local authorities (London-heavy, as KPro's customers are)."""

HOUSING_PROVIDERS: tuple[HousingProvider, ...] = (
    HousingProvider(11, "Harbourline Homes", "harbourline-homes", 40),
    HousingProvider(23, "Oakfield Housing Association", "oakfield-housing-association", 25),
    HousingProvider(37, "Meridian Shared Ownership", "meridian-shared-ownership", 20),
    HousingProvider(52, "Kestrel Homes", "kestrel-homes", 10),
    HousingProvider(68, "Lanterns Housing Group", "lanterns-housing-group", 5),
)
"""Invented housing providers with a relative share of the leads."""

CUSTOM_SOURCES: tuple[tuple[int, str], ...] = (
    (901, "Open day"),
    (902, "Site hoarding"),
    (903, "Local newspaper"),
    (904, "Radio advert"),
    (905, "Bus stop poster"),
    (906, "Resident referral"),
)
"""Client-defined custom sources (``source``), invented."""

MALE_FIRST_NAMES: tuple[str, ...] = _words(
    """Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo
    Alfie Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel
    Arthur Lucas Mohammed Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary
    Riley Teddy Theodore David Toby Jake Louie Elijah Reuben Arlo Hugo Luca Jaxon Matthew
    Harvey Reggie Michael Harley Jude Albert Tommy Luke Stanley Jenson Frankie Jayden Gabriel
    Elliot Mohammad Ronnie Charles Louis Elliott Frederick Nathan Lewis Blake Rory Ollie Ryan
    Tyler Jackson Dexter Ibrahim Kai Ezra Aaron Carter Finn Bobby Callum Kian Ahmed Rohan
    Tomasz Piotr Kwame Chidi Sanjay Rajesh Andrew Mark Paul Stephen Peter Christopher Kevin
    Gareth Craig Darren Lee Wayne Dean Neil Simon Ian Graham"""
)
FEMALE_FIRST_NAMES: tuple[str, ...] = _words(
    """Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily Sophia Grace Evie Sophie
    Ivy Freya Harper Charlotte Florence Willow Daisy Sienna Evelyn Phoebe Millie Matilda Ruby
    Rosie Alice Elsie Layla Maya Esme Eva Erin Emilia Hannah Bella Scarlett Isabelle Chloe
    Aria Lucy Jessica Eliza Thea Imogen Molly Zara Lola Holly Ellie Jasmine Amber Heidi Maisie
    Georgia Orla Bonnie Megan Hallie Emma Lottie Lyla Harriet Aisha Fatima Priya Anjali Agnieszka
    Katarzyna Ngozi Abena Sarah Laura Rebecca Rachel Nicola Claire Gemma Kelly Lisa Joanne
    Helen Louise Victoria Natalie Samantha Amy Katie Leanne Zoe Naomi Yasmin Nadia Leah"""
)
LAST_NAMES: tuple[str, ...] = _words(
    """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
    Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
    Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen
    James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook
    Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
    Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali
    Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell
    Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur
    Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks
    West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth
    Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter
    Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins
    Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane
    Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross
    Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis
    Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp
    Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rahman
    Nowak Kowalski Okafor Mensah Nguyen Chen Wong Smith-Jones Ansah Bose Das Iqbal"""
)
STREETS: tuple[str, ...] = (
    "High Street", "Station Road", "Church Street", "Main Street", "Park Road", "Victoria Road",
    "Green Lane", "Manor Road", "Church Lane", "Park Avenue", "The Avenue", "Queens Road",
    "New Road", "Grange Road", "Kings Road", "Mill Lane", "Alexandra Road", "London Road",
    "Albert Road", "Brick Lane", "Mortimer Street", "York Road", "Springfield Road",
    "Richmond Road", "Stanley Road", "Windsor Road", "Elm Road", "Chestnut Close",
    "Willow Way", "Beech Grove", "Oak Avenue", "Cedar Drive", "Maple Crescent", "Rose Hill",
    "Canal Street", "Wharf Road", "Market Street", "Bridge Street", "Castle Street",
    "North Road", "South Street", "Western Avenue", "Cromwell Road", "Jubilee Way",
    "Coronation Street", "Orchard Close", "Meadow View", "Riverside Walk", "Harbour Way",
    "Kingsway", "St John's Road", "St Mary's Close", "Hawthorn Drive", "Holly Lane",
)  # fmt: skip
EMAIL_DOMAINS: tuple[tuple[str, int], ...] = (
    ("gmail.com", 40),
    ("hotmail.co.uk", 14),
    ("outlook.com", 12),
    ("yahoo.co.uk", 9),
    ("icloud.com", 8),
    ("hotmail.com", 6),
    ("btinternet.com", 4),
    ("live.co.uk", 4),
    ("sky.com", 3),
)
OCCUPATIONS: tuple[str, ...] = (
    "Nurse", "Teacher", "Software Developer", "Sales Manager", "Police Officer", "Paramedic",
    "Accountant", "Retail Assistant", "Civil Servant", "Chef", "Care Worker", "Electrician",
    "Marketing Executive", "Pharmacist", "Project Manager", "Administrator", "Engineer",
    "Graphic Designer", "Bus Driver", "Firefighter", "Solicitor", "Hairdresser",
    "Customer Service Advisor", "Warehouse Operative", "Doctor", "Midwife", "Architect",
    "Data Analyst", "Teaching Assistant", "Social Worker", "Plumber", "Receptionist",
    "HR Manager", "Barista", "Estate Agent", "Researcher", "Physiotherapist", "Carpenter",
)  # fmt: skip
EMPLOYERS: tuple[str, ...] = (
    "NHS", "Tesco", "Sainsbury's", "Royal Mail", "BT", "Barclays", "Lloyds Banking Group",
    "Transport for London", "Metropolitan Police", "John Lewis", "Marks & Spencer", "Amazon",
    "HMRC", "Network Rail", "University of Manchester", "King's College London", "Aviva",
    "Deloitte", "Capita", "Serco", "Boots", "Greggs", "Self", "Local Council",
    "Harbourline Homes", "Bright Futures Academy Trust", "Northgate Engineering Ltd",
)  # fmt: skip
HEAR_ABOUT_US: tuple[str, ...] = (
    "Google search", "Rightmove", "Zoopla", "Facebook", "Instagram", "Friend or family",
    "Site signage", "Local newspaper", "Share to Buy", "Drove past", "Email newsletter",
    "Word of mouth", "Radio", "Estate agent",
)  # fmt: skip
ADDITIONAL_INFO: tuple[str, ...] = (
    "Looking for a 2 bed near good schools.",
    "Please call after 6pm.",
    "Interested in viewing at the next open day.",
    "Currently renting, tenancy ends in the summer.",
    "Would like to know the service charge.",
    "Is parking included?",
    "Need a ground floor flat (wheelchair user).",
    "Mortgage agreed in principle.",
    "Can I buy a 25% share?",
    "Relocating for work.",
    "Pets allowed?",
    "...",
)
DEVELOPMENT_PREFIXES: tuple[str, ...] = (
    "Kingfisher", "Willow", "Brunswick", "Orchard", "Canal", "Station", "Foundry", "Meadow",
    "Harbour", "Riverside", "Beacon", "Mill", "Castle", "Victoria", "Maple", "Heron", "Linden",
    "Ashton", "Elmbridge", "Larkspur", "Chalk", "Sovereign", "Wren", "Granary",
)  # fmt: skip
DEVELOPMENT_SUFFIXES: tuple[str, ...] = (
    "Quarter", "Gardens", "Wharf", "Place", "Yard", "Park", "Rise", "Court", "Village",
    "Square", "Mews", "Point", "Fields", "Heights",
)  # fmt: skip
