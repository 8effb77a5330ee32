"""Finnish words for the OviPro sandbox's synthetic data: names, places, messages, tags.

Everything here is plain data. Postcodes sit with the postal area they belong to and the
streets that run there, so an address never puts Hämeenkatu in Oulu. Names lean on the
commonest Finnish surnames and keep a share of Swedish-speaking ones (Åberg, Öhman…).

Example:
    >>> POSTAL_AREAS[0].postcode, POSTAL_AREAS[0].name
    ('00100', 'Helsinki')
    >>> all(len(a.postcode) == 5 and a.postcode.isdigit() for a in POSTAL_AREAS)
    True
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ACTION_CODES",
    "ADDITIONAL_NOTES",
    "BUYER_MESSAGES",
    "DOCUMENT_TYPE_CODES",
    "EMAIL_DOMAINS",
    "FEMALE_FIRST_NAMES",
    "LAST_NAMES",
    "LEAD_SOURCE_TYPE_CODES",
    "LEAD_TYPE_CODES",
    "MALE_FIRST_NAMES",
    "MARKETPLACE_CODES",
    "MOBILE_PREFIXES",
    "OFFICE_NAMES",
    "OUTGOING_MESSAGES",
    "OUTGOING_NOTES",
    "OUTGOING_SUBJECTS",
    "POSTAL_AREAS",
    "SCHEME_IDS",
    "SELLER_MESSAGES",
    "STATUS_CODES",
    "TAGS",
    "PostalArea",
    "ascii_fold",
]

STATUS_CODES: tuple[str, ...] = ("NEW", "IN_PROGRESS", "APPROVED", "REJECTED")
"""LeadStatusCode (spec §8)."""

MARKETPLACE_CODES: tuple[str, ...] = ("ETUOVI", "VUOKRAOVI", "OIKOTIE", "KL_TOIMITILAT",
                                      "TOIMITILAT_FI")  # fmt: skip
"""MarketplaceSourceCode (spec §8): also the ``marketplaceCode`` path parameter."""

LEAD_SOURCE_TYPE_CODES: tuple[str, ...] = (*MARKETPLACE_CODES, "BANK")
"""Seen LeadSourceTypeCode values (spec §8; an open enum, Q12)."""

LEAD_TYPE_CODES: tuple[str, ...] = ("SELLER_REFERRAL", "BUYER_REFERRAL")
"""Seen LeadTypeCode values (spec §8; an open enum, Q12)."""

DOCUMENT_TYPE_CODES: tuple[str, ...] = ("BROCHURE", "TITLE_CERTIFICATE")
"""Seen documentTypeCode values of outgoing leads (spec §8; an open enum)."""

ACTION_CODES: tuple[str, ...] = ("CONTACTED", "CALLED", "EMAIL_SENT", "MEETING_BOOKED")
"""leadActionCodes: **invented** (the spec captured none, Q12); configurable."""

SCHEME_IDS: tuple[str, ...] = ("realtorSystemLeadId", "marketplaceLeadId", "bankReferenceId")
"""``supplierAssignedIdentifiers[].schemeId`` values; only the first is in the seed."""

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Anna", "Minna", "Päivi", "Tiina", "Sanna", "Hanna", "Kaisa", "Eeva", "Aino", "Helmi",
    "Sari", "Riikka", "Satu", "Jenni", "Elina", "Maija", "Säde", "Kyllikki", "Marjatta",
    "Pirjo", "Liisa", "Anneli", "Johanna", "Laura", "Emilia", "Iida", "Siiri", "Venla",
    "Åsa", "Märta", "Linnéa", "Ilona", "Tuulia", "Hillevi", "Nelli", "Outi", "Ulla",
)  # fmt: skip
MALE_FIRST_NAMES: tuple[str, ...] = (
    "Matti", "Teemu", "Juha", "Mikko", "Timo", "Jukka", "Jyrki", "Antti", "Pekka", "Heikki",
    "Janne", "Ville", "Tuomas", "Eino", "Väinö", "Onni", "Lauri", "Aleksi", "Markku",
    "Kalevi", "Esa", "Olli", "Sami", "Petteri", "Jaakko", "Örjan", "Björn", "Håkan",
    "Niklas", "Joonas", "Veikko", "Pertti", "Tapio", "Risto", "Kari", "Ilkka", "Jouni",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
    "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen",
    "Heinonen", "Niemi", "Heikkilä", "Kinnunen", "Salonen", "Turunen", "Salo", "Laitinen",
    "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila", "Savolainen", "Lahtinen",
    "Ahonen", "Meikäläinen", "Äijälä", "Öhman", "Åberg", "Söderström", "Västilä",
    "Pöllänen", "Räsänen", "Kärkkäinen", "Jääskeläinen", "Ylönen", "Hyvönen", "Monnila",
    "Lindström", "Sjöberg", "Kääriäinen", "Määttä", "Hölttä", "Östman", "Wikström",
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com",
                                  "elisanet.fi", "kolumbus.fi", "luukku.com", "suomi24.fi",
                                  "icloud.com", "dnainternet.net")  # fmt: skip

MOBILE_PREFIXES: tuple[str, ...] = ("40", "41", "44", "45", "46", "50")
"""Finnish mobile operator prefixes after +358 (seven subscriber digits follow)."""


class PostalArea(NamedTuple):
    """A postcode, its postal area (town) and streets that run there."""

    postcode: str
    name: str
    streets: tuple[str, ...]


POSTAL_AREAS: tuple[PostalArea, ...] = (
    PostalArea("00100", "Helsinki", ("Mannerheimintie", "Aleksanterinkatu", "Bulevardi",
                                     "Fredrikinkatu", "Lönnrotinkatu")),
    PostalArea("00150", "Helsinki", ("Albertinkatu", "Pursimiehenkatu", "Tehtaankatu")),
    PostalArea("00250", "Helsinki", ("Runeberginkatu", "Töölönkatu", "Mechelininkatu")),
    PostalArea("00500", "Helsinki", ("Hämeentie", "Sörnäisten rantatie", "Vaasankatu")),
    PostalArea("00530", "Helsinki", ("Fleminginkatu", "Agricolankatu", "Kaarlenkatu")),
    PostalArea("00940", "Helsinki", ("Kontulantie", "Ostostie", "Keinutie")),
    PostalArea("02100", "Espoo", ("Tapiolantie", "Itätuulenkuja", "Merituulentie")),
    PostalArea("02600", "Espoo", ("Läkkisepäntie", "Leppävaarankatu", "Säterinkatu")),
    PostalArea("01300", "Vantaa", ("Tikkurilantie", "Asematie", "Kielotie")),
    PostalArea("04200", "Kerava", ("Kauppakaari", "Sampolantie", "Kalevankatu")),
    PostalArea("04400", "Järvenpää", ("Sibeliuksenkatu", "Mannilantie", "Seutulantie")),
    PostalArea("06100", "Porvoo", ("Mannerheiminkatu", "Runeberginkatu", "Jokikatu")),
    PostalArea("33100", "Tampere", ("Hämeenkatu", "Kuninkaankatu", "Satakunnankatu",
                                    "Näsilinnankatu")),
    PostalArea("33500", "Tampere", ("Kalevantie", "Sammonkatu", "Teiskontie")),
    PostalArea("20100", "Turku", ("Aurakatu", "Eerikinkatu", "Linnankatu", "Yliopistonkatu")),
    PostalArea("20700", "Turku", ("Uudenmaantie", "Itäinen Pitkäkatu", "Vähä-Hämeenkatu")),
    PostalArea("90100", "Oulu", ("Kirkkokatu", "Isokatu", "Pakkahuoneenkatu")),
    PostalArea("40100", "Jyväskylä", ("Kauppakatu", "Väinönkatu", "Yliopistonkatu")),
    PostalArea("70100", "Kuopio", ("Puijonkatu", "Kauppakatu", "Minna Canthin katu")),
    PostalArea("15100", "Lahti", ("Aleksanterinkatu", "Vesijärvenkatu", "Rautatienkatu")),
    PostalArea("65100", "Vaasa", ("Hovioikeudenpuistikko", "Kauppapuistikko", "Rauhankatu")),
    PostalArea("96100", "Rovaniemi", ("Koskikatu", "Valtakatu", "Pohjolankatu")),
    PostalArea("28100", "Pori", ("Yrjönkatu", "Antinkatu", "Itäpuisto")),
    PostalArea("53100", "Lappeenranta", ("Valtakatu", "Kauppakatu", "Koulukatu")),
    PostalArea("80100", "Joensuu", ("Torikatu", "Siltakatu", "Kirkkokatu")),
    PostalArea("13100", "Hämeenlinna", ("Raatihuoneenkatu", "Linnankatu", "Palokunnankatu")),
    PostalArea("60100", "Seinäjoki", ("Kauppakatu", "Koulukatu", "Vapaudentie")),
    PostalArea("22100", "Mariehamn", ("Torggatan", "Storagatan", "Norra Esplanadgatan")),
)  # fmt: skip
"""Postcodes with their postal areas and local streets (first: the seed's 00100 Helsinki)."""

OFFICE_NAMES: tuple[str, ...] = (
    "Kiinteistöykkönen Oy", "Kotimeklarit Oy", "Asuntoässä LKV", "Kodinvälitys Järvinen Oy",
    "LKV Äijälä & Co", "Pohjolan Kiinteistöpalvelu Oy", "Saariston Asuntomyynti Ab",
    "Tampereen Kotiväylä Oy", "Aurajoen Kiinteistönvälitys Oy", "Oulun Asuntopiste LKV",
    "Järvi-Suomen Kodit Oy", "Lahden Asuntotori Oy",
)  # fmt: skip
"""Agency office names (``recipient.name``); the first is the seed's."""

SELLER_MESSAGES: tuple[str, ...] = (
    "Voisitteko tehdä hinta-arvion asunnostani?",
    "Harkitsemme asuntomme myyntiä ensi keväänä.",
    "Haluaisin tietää, mitä kotini voisi olla arvoltaan.",
    "Olemme muuttamassa ulkomaille ja asunto pitäisi myydä syksyllä.",
    "Perikunta haluaa myydä omakotitalon, pyydämme yhteydenottoa.",
    "Kiinnostaa myyntitoimeksiannon hinta ja aikataulu.",
)
BUYER_MESSAGES: tuple[str, ...] = (
    "Haluan lisätietoja asunnosta",
    "Olisin kiinnostunut yksityisnäytöstä.",
    "Onko kohde vielä myynnissä?",
    "Milloin on seuraava yleisnäyttö?",
    "Kiinnostaisi tietää taloyhtiön remonttihistoria.",
    "Onko kohteessa saunaa ja parveketta?",
    "Etsimme kolmiota läheltä koulua, onko teillä tulossa sopivia kohteita?",
)
ADDITIONAL_NOTES: tuple[str, ...] = (
    "Yhteydenotto mieluiten aamuisin ennen klo 10.",
    "Asiakas toivoo yhteydenottoa sähköpostitse.",
    "Pankin asiakas, lainalupaus voimassa.",
    "Soita iltaisin klo 17 jälkeen.",
    "Asiakas on jo käynyt näytössä.",
    "Puhuu ruotsia, palvelu mieluiten ruotsiksi.",
)
TAGS: tuple[str, ...] = (
    "Kesäkampanja 2024", "Toimistoyhteydenotto", "Arviokäynti", "Myyntitoimeksianto",
    "Kiireellinen", "Sijoittaja", "Ensiasunnon ostaja", "Pankkiyhteistyö",
    "Syyskampanja 2023", "Hinta-arvio", "Yhteydenotto puhelimitse", "Uudiskohde",
)  # fmt: skip
OUTGOING_SUBJECTS: tuple[str, ...] = (
    "Muista hakea lainaa ajoissa", "Asuntolainatarjous", "Kotivakuutus kuntoon",
    "Muuttopalvelu", "Kuntotarkastus ennen kauppaa", "Sähkösopimus uuteen kotiin",
)  # fmt: skip
OUTGOING_MESSAGES: tuple[str, ...] = (
    "Asiakkaalla tarve uudelle asuntolainalle",
    "Asiakas toivoo tarjousta kotivakuutuksesta.",
    "Asiakas muuttaa kuun vaihteessa ja tarvitsee muuttoapua.",
    "Ostaja haluaa kuntotarkastuksen ennen kaupantekoa.",
    "Asiakas pyytää tarjousta sähkösopimuksesta.",
)
OUTGOING_NOTES: tuple[str, ...] = (
    "Yhteydenotto mieluiten aamuisin ennen klo 9:00.",
    "Asiakas tavoitettavissa parhaiten puhelimitse.",
    "Kauppakirja allekirjoitetaan ensi viikolla.",
    "",
)

_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e", "Ä": "a", "Ö": "o", "Å": "a",
                       " ": "", "'": ""})  # fmt: skip


def ascii_fold(text: str) -> str:
    """Lower-case ``text`` and fold Finnish letters to ASCII, for e-mail addresses.

    Example:
        >>> ascii_fold("Äijälä")
        'aijala'
    """
    return text.lower().translate(_FOLD)
