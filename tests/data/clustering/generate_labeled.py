"""Writes ``labeled.jsonl``: partner entries with the true story of each, for issue 5.

Run ``.venv/bin/python tests/data/clustering/generate_labeled.py`` to rewrite the file (the
same bytes every time: every story draws from its own seeded random stream, so adding a
story does not change the others). ``tests/test_clustering_quality.py`` checks that the
committed file is this script's output. The format is described in README.md beside it.

The world: WeGO and its partners (tests/../PARTNERS.md) publishing smart-city news,
whitepapers and webinars from 2026-09-01 to 2026-11-22, in English, Korean, Chinese,
Spanish and Russian. Each story has a ``case``: the duplicate situation it stands for
(several copies that must end as one story) or the hard negative it stands for (entries
that look alike but are different stories), or ``singleton``.
"""

from __future__ import annotations

import html
import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

SEED = 2026_11
OUTPUT = Path(__file__).resolve().parent / "labeled.jsonl"
START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 80  # stories are dated from START to START + DAYS (2026-11-20), copies up to 2 later

# Cases whose copies must end as one story, and hard negatives that must stay apart.
ONE_STORY_CASES = (
    "press-release",
    "guid-churn",
    "scheme-www-flip",
    "tracking-params",
    "amp-mobile",
    "late-syndication",
    "multilingual-zh",
    "multilingual-ko",
)
HARD_NEGATIVE_CASES = (
    "webinar-series",
    "recurring-title",
    "same-day-same-partner",
    "query-id",
    "same-topic-cross-partner",
    "same-title-other-kind",
)
CASES = (*ONE_STORY_CASES, *HARD_NEGATIVE_CASES, "singleton")


@dataclass(frozen=True, slots=True)
class Feed:
    feed_id: str
    kind: str  # article, whitepaper, webinar
    batches: tuple[int, ...]  # the fetches of this feed in the data set


FEEDS = {
    f.feed_id: f
    for f in (
        Feed("wego", "article", (1,)),
        Feed("scw-news", "article", (1,)),
        Feed("scw-whitepapers", "whitepaper", (1,)),
        Feed("scw-webinars", "webinar", (1,)),
        # An event host whose calendar plugin mints a new GUID on every fetch.
        Feed("cityforum-events", "webinar", (1, 2, 3)),
        Feed("urbanlab", "whitepaper", (1,)),  # a think tank
        Feed("metropolis-digest", "article", (1,)),  # a curated newsletter, links decorated
        # A Spanish-language partner whose links (and so guids) flip between http://host
        # and https://www.host from one fetch to the next.
        Feed("ciudades-hoy", "article", (1, 2)),
        Feed("wego-china", "article", (1,)),
        Feed("zhcity", "article", (1,)),
        Feed("seoul-smartcity", "article", (1,)),
        Feed("wego-russia", "article", (1, 2)),  # flips www. in its links
    )
}


@dataclass(frozen=True, slots=True)
class Copy:
    """One partner's copy of a story, as that partner's feed lists it."""

    feed_id: str
    link: str
    guid: str
    title: str
    summary: str
    content: str
    published: datetime
    title_is_html: bool = False
    batches: tuple[int, ...] = (1,)
    churn_guid: bool = False  # a new guid in every batch
    flip_link: bool = False  # http://host in odd batches, https://www.host in even ones


@dataclass(slots=True)
class Story:
    label: str
    case: str
    copies: list[Copy] = field(default_factory=list)


# --- vocabulary -------------------------------------------------------------------------

CITIES = (
    "Seoul", "Busan", "Chengdu", "Kazan", "Mexico City", "Istanbul", "Ulaanbaatar", "Makati",
    "Tunis", "Kigali", "Bogotá", "Barcelona", "Amsterdam", "Helsinki", "Tallinn", "Surabaya",
    "Almaty", "Curitiba", "Dubai", "Yokohama", "Lisbon", "Accra", "Montréal", "Zürich",
    "Pittsburgh", "Quezon City", "Suwon", "Guadalajara", "Kraków", "Medellín", "Izmir",
    "Tashkent", "Da Nang", "Rabat", "Nairobi", "Göteborg",
)  # fmt: skip
REGIONS = ("Central Asia", "Latin America", "Africa", "Southeast Asia", "Europe", "Middle East")


@dataclass(frozen=True, slots=True)
class Topic:
    area: str  # transport, energy, data, governance, buildings, connectivity
    name: str  # "smart parking"
    unit: str  # what gets counted: "parking sensors"
    metric: str  # what it reduces: "time spent looking for a space"
    tech: str  # what a supplier provides


TOPICS = (
    Topic("transport", "smart parking", "parking sensors", "time spent looking for a space",
          "in-ground occupancy sensors"),
    Topic("transport", "adaptive traffic signals", "junctions", "average journey times",
          "AI signal controllers"),
    Topic("transport", "on-demand bus service", "electric minibuses", "waiting times",
          "a routing app"),
    Topic("transport", "e-scooter sharing", "shared scooters", "short car trips",
          "geofencing software"),
    Topic("transport", "curb management", "loading zones", "double parking",
          "a digital curb map"),
    Topic("energy", "smart street lighting", "LED streetlights", "energy use for lighting",
          "dimmable luminaires"),
    Topic("energy", "district heating", "connected buildings", "heating emissions",
          "heat pumps and storage tanks"),
    Topic("energy", "rooftop solar", "public buildings", "electricity bills",
          "solar panels and batteries"),
    Topic("energy", "EV charging", "charging points", "diesel use in the city fleet",
          "fast chargers"),
    Topic("data", "open data", "datasets", "freedom-of-information requests",
          "a data catalogue"),
    Topic("data", "urban digital twin", "3D building models", "planning approval time",
          "a 3D city platform"),
    Topic("data", "air quality monitoring", "low-cost sensors", "pollution peaks near schools",
          "sensor boxes"),
    Topic("data", "flood early warning", "river gauges", "flood damage",
          "an AI forecasting model"),
    Topic("governance", "e-participation", "neighbourhood proposals", "paperwork",
          "a participation platform"),
    Topic("governance", "digital ID", "service counters", "queue times at city hall",
          "a mobile identity wallet"),
    Topic("governance", "smart procurement", "tenders", "procurement costs",
          "an e-procurement system"),
    Topic("buildings", "energy retrofits", "apartment blocks", "heating demand",
          "insulation and smart meters"),
    Topic("buildings", "smart social housing", "homes", "maintenance costs",
          "connected boilers and leak sensors"),
    Topic("buildings", "BIM permitting", "building permits", "approval times",
          "a BIM checking service"),
    Topic("connectivity", "public Wi-Fi", "hotspots", "mobile data costs for students",
          "outdoor access points"),
    Topic("connectivity", "5G small cells", "lamp posts", "coverage gaps",
          "small-cell radios"),
    Topic("connectivity", "IoT network", "gateways", "meter reading costs",
          "a LoRaWAN network"),
)  # fmt: skip

ORGS = (
    "Hanbit Systems", "Nordlys Energy", "Kestrel Mobility", "Civitas Data", "Arcadia Networks",
    "UrbanGrid", "Terra Analytics", "Meridian Telecom", "Solace Lighting", "BlueRiver Water",
    "Polaris Buildings", "Lumen Mobility", "Quanta Civic", "Atlas Geospatial",
)  # fmt: skip
UNIVERSITIES = (
    "Seoul National University of Science and Technology", "the University of Tunis",
    "Delft University of Technology", "Tecnológico de Monterrey", "Kazan Federal University",
    "the University of Nairobi", "Chalmers University", "the National University of Mongolia",
)  # fmt: skip
OFFICIALS = (
    ("Park Ji-won", "the city's chief digital officer"),
    ("Amina Diallo", "deputy mayor for mobility"),
    ("Lucía Fernández", "head of urban innovation"),
    ("Dmitri Volkov", "director of the city's IT department"),
    ("Chen Wei", "director of the municipal big data bureau"),
    ("Sara Lindqvist", "the programme manager"),
    ("Kwame Mensah", "the city manager"),
    ("Aylin Demir", "head of smart city strategy"),
    ("Tomás Oliveira", "the city's chief resilience officer"),
    ("Nodira Karimova", "deputy mayor for digital services"),
)
QUOTES = (
    "Technology only matters if residents feel the difference in their daily lives",
    "We chose to start small, measure everything and scale what works",
    "Open standards mean we are not locked in to a single supplier",
    "This shows what cities can do when they share data responsibly",
    "Our priority is to make services simpler for older residents",
    "The results will be published so that other cities can reuse them",
    "Every district should benefit, not only the city centre",
    "We learned a great deal from our partners in the WeGO network",
)
MONEY = ("€2.4 million", "$8 million", "€15 million", "$1.2 million", "€640,000", "$30 million",
         "₩12 billion")  # fmt: skip
PLANS = ("Smart City 2030", "Green Deal", "Digital First", "Resilient City", "Net Zero 2040")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
VERBS = (
    ("expands", "expanded"),
    ("launches", "launched"),
    ("pilots", "started piloting"),
    ("scales up", "scaled up"),
    ("unveils", "unveiled"),
    ("completes", "completed"),
)


def _words(text: str) -> list[str]:
    return text.split()


def _cap(text: str, limit: int) -> str:
    """At most ``limit`` words, cut at a sentence end when one is near."""
    words = _words(text)
    if len(words) <= limit:
        return text
    cut = " ".join(words[:limit])
    end = cut.rfind(". ")
    return cut[: end + 1] if end > len(cut) // 2 else cut + "."


# --- English text -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What one English story is about; its title and text are built from these."""

    city: str
    topic: Topic
    verb: tuple[str, str]
    org: str
    count: int
    districts: int
    money: str
    percent: int
    official: tuple[str, str]
    quote: str
    plan: str
    year: int
    peer_cities: tuple[str, str]
    university: str
    start_month: str


def facts(rng: random.Random, city: str | None = None, topic: Topic | None = None) -> Facts:
    return Facts(
        city=city or rng.choice(CITIES),
        topic=topic or rng.choice(TOPICS),
        verb=rng.choice(VERBS),
        org=rng.choice(ORGS),
        count=rng.choice((12, 40, 85, 120, 250, 600, 1_200, 3_500, 5_000)),
        districts=rng.randint(2, 25),
        money=rng.choice(MONEY),
        percent=rng.randint(8, 41),
        official=rng.choice(OFFICIALS),
        quote=rng.choice(QUOTES),
        plan=rng.choice(PLANS),
        year=rng.choice((2027, 2028, 2030)),
        peer_cities=tuple(rng.sample(CITIES, 2)),  # type: ignore[arg-type]
        university=rng.choice(UNIVERSITIES),
        start_month=rng.choice(MONTHS),
    )


def english_title(rng: random.Random, f: Facts) -> str:
    t = f.topic
    forms = (
        f"{f.city} {f.verb[0]} {t.name} to {f.districts} districts",
        f"{f.city} {f.verb[0]} {t.name} programme with {f.org}",
        f"{f.city} to invest {f.money} in {t.name}",
        f"How {f.city} cut {t.metric} with {t.name}",
        f"{f.city}'s '{f.plan}' plan adds {f.count:,} {t.unit}",
        f"{f.org} and {f.city} partner on {t.name}",
    )
    return rng.choice(forms)


def english_sentences(rng: random.Random, f: Facts) -> list[str]:
    t = f.topic
    name, role = f.official
    first = (
        f"{f.city} has {f.verb[1]} its {t.name} programme, which now covers "
        f"{f.count:,} {t.unit} across {f.districts} districts."
    )
    others = [
        f"The {f.money} project is funded by the city with support from {f.org}, "
        f"which supplies {t.tech}.",
        f'"{f.quote}," said {name}, {role}.',
        f"Work starts in {f.start_month} and the first results are expected in {f.year}.",
        f"A trial in one district last year cut {t.metric} by {f.percent} per cent.",
        f"Data from the {t.unit} will be published on the city's open data portal every month.",
        f"{f.university[0].upper()}{f.university[1:]} will evaluate the scheme and compare it "
        f"with similar projects in {f.peer_cities[0]} and {f.peer_cities[1]}.",
        f"The work is part of the city's {f.plan} strategy, which sets targets for "
        f"{t.area} up to {f.year}.",
        f"Residents can comment on the next phase in an online consultation open until the "
        f"end of {f.start_month}.",
        f"{f.org} was chosen in an open tender that drew {rng.randint(3, 14)} bids.",
        f"The city will present the results to other WeGO members at a regional forum "
        f"in {f.peer_cities[0]}.",
    ]
    rng.shuffle(others)
    return [first, *others[: rng.randint(3, 5)]]


def english_text(rng: random.Random, f: Facts) -> str:
    return _cap(" ".join(english_sentences(rng, f)), 100)


def press_release(rng: random.Random, f: Facts) -> tuple[str, str]:
    """A WeGO press release: (title, text)."""
    region = rng.choice(REGIONS)
    name, role = f.official
    day = f"{rng.randint(1, 28)} {f.start_month}"
    forms = (
        (
            f"WeGO and {f.city} sign agreement on {f.topic.name}",
            f"The World Smart Sustainable Cities Organization (WeGO) and the city of {f.city} "
            f"signed an agreement on {f.topic.name} on {day}.",
        ),
        (
            f"WeGO launches '{f.plan}' training for {region} cities",
            f"The World Smart Sustainable Cities Organization (WeGO) has launched '{f.plan}', "
            f"a training programme for city officials in {region}, starting on {day}.",
        ),
        (
            f"{f.city} joins WeGO's {f.topic.name} working group",
            f"{f.city} has joined the {f.topic.name} working group of the World Smart "
            f"Sustainable Cities Organization (WeGO), the association announced on {day}.",
        ),
        (
            f"WeGO and {f.org} partner on {f.topic.name} for member cities",
            f"The World Smart Sustainable Cities Organization (WeGO) and {f.org} will help "
            f"member cities plan {f.topic.name}, under a partnership signed on {day}.",
        ),
        (
            f"{f.city} hosts WeGO {region} regional forum on {f.topic.name}",
            f"{f.city} hosted the WeGO {region} regional forum on {f.topic.name} on {day}, "
            f"with delegations from {rng.randint(9, 30)} member cities.",
        ),
        (
            f"WeGO report: what {f.count:,} {f.topic.unit} taught {f.city}",
            f"A new report by the World Smart Sustainable Cities Organization (WeGO) looks at "
            f"what {f.city} learned from installing {f.count:,} {f.topic.unit}.",
        ),
    )
    title, lead = rng.choice(forms)
    body = [
        f"The cooperation builds on {f.city}'s {f.topic.name} programme, which covers "
        f"{f.count:,} {f.topic.unit} in {f.districts} districts.",
        f"Member cities in {region} will be able to join study visits and a series of "
        f"online workshops run by the WeGO Secretariat in Seoul.",
        f'"{f.quote}," said {name}, {role}.',
        f"{f.org} will share {f.topic.tech} data with participating cities free of charge.",
        "WeGO, founded in 2010, brings together more than 200 city governments, "
        "smart-tech companies and institutions.",
        f"A first report on {f.topic.metric} is planned for {f.year}.",
    ]
    rng.shuffle(body)
    return title, _cap(" ".join([lead, *body[: rng.randint(3, 5)]]), 100)


def whitepaper(rng: random.Random, f: Facts) -> tuple[str, str]:
    forms = (
        f"{f.topic.name[0].upper()}{f.topic.name[1:]}: a guide for city leaders",
        f"The state of {f.topic.name} in {rng.randint(30, 120)} cities",
        f"Financing {f.topic.name}: lessons from {f.city} and {f.peer_cities[0]}",
        f"From pilot to scale: {f.topic.name} in mid-sized cities",
    )
    title = rng.choice(forms)
    text = (
        f"This whitepaper from {f.org} examines how cities plan, buy and run {f.topic.name}. "
        f"Drawing on interviews with {rng.randint(20, 90)} city officials in "
        f"{rng.randint(8, 30)} countries, it shows where {f.topic.tech} pay off and where "
        f"they do not. Case studies from {f.city}, {f.peer_cities[0]} and {f.peer_cities[1]} "
        f"show how {f.topic.metric} fell by up to {f.percent} per cent. The authors set out "
        f"{rng.randint(5, 12)} recommendations on procurement, data ownership and "
        f"maintenance budgets. Download the report to read the full findings."
    )
    return title, text


def webinar(rng: random.Random, f: Facts, when: datetime) -> tuple[str, str]:
    name, role = f.official
    forms = (
        f"Webinar: {f.topic.name} after the pilot",
        f"Making {f.topic.name} work for residents",
        f"Live: {f.city} on {f.topic.name}",
        f"{f.topic.name[0].upper()}{f.topic.name[1:]} - what cities need from suppliers",
    )
    title = rng.choice(forms)
    opening = (
        f"Join {name}, {role} in {f.city}, and experts from {f.org} to discuss {f.topic.name}."
    )
    middle = [
        f"{f.city} installed {f.count:,} {f.topic.unit} in {f.districts} districts and cut "
        f"{f.topic.metric} by {f.percent} per cent; the speakers explain what it took.",
        f"The panel will ask which data cities should require in {f.topic.name} contracts and "
        f"who pays for {f.topic.tech} once the pilot money runs out.",
        f"Researchers from {f.university} will present a comparison with "
        f"{f.peer_cities[0]} and {f.peer_cities[1]}.",
        f"{f.org} will show how its {f.topic.tech} are maintained over ten years.",
        f"Questions from the audience are welcome; {name} will answer them live.",
        f"The discussion draws on {f.city}'s {f.plan} strategy and its targets for {f.year}.",
    ]
    rng.shuffle(middle)
    closing = (
        f"{when:%d %B %Y}, {when:%H:00} UTC, 60 minutes. Registration is free; a recording "
        f"will be available afterwards."
    )
    return title, " ".join([opening, *middle[: rng.randint(2, 4)], closing])


# --- other languages ----------------------------------------------------------------------

ES_CITIES = ("Ciudad de México", "Guadalajara", "Monterrey", "Bogotá", "Medellín", "Lima",
             "Santiago", "Quito", "Puebla", "Mérida", "Montevideo")  # fmt: skip
ES_TOPICS = (
    ("estacionamiento inteligente", "sensores"),
    ("alumbrado público inteligente", "luminarias LED"),
    ("gemelo digital urbano", "modelos 3D de edificios"),
    ("monitoreo de la calidad del aire", "estaciones"),
    ("datos abiertos", "conjuntos de datos"),
    ("transporte bajo demanda", "microbuses eléctricos"),
    ("wifi público", "puntos de acceso"),
    ("semáforos inteligentes", "cruceros"),
)
ES_QUOTES = (
    "La tecnología solo sirve si la gente nota la diferencia en su vida diaria",
    "Empezamos con un piloto pequeño, medimos todo y ampliamos lo que funciona",
    "Los datos serán públicos para que otras ciudades puedan reutilizarlos",
    "Queremos que todas las colonias se beneficien, no solo el centro",
)


def spanish(rng: random.Random) -> tuple[str, str]:
    city = rng.choice(ES_CITIES)
    topic, unit = rng.choice(ES_TOPICS)
    n, d = rng.choice((40, 120, 350, 1_500, 4_000)), rng.randint(3, 20)
    verb, past = rng.choice(
        (("amplía", "amplió"), ("lanza", "lanzó"), ("pone a prueba", "puso a prueba"))
    )
    title = rng.choice(
        (
            f"{city} {verb} su programa de {topic} en {d} colonias",
            f"{city} invertirá {rng.randint(5, 90)} millones en {topic}",
            f"¿Qué aprendió {city} de su piloto de {topic}?",
        )
    )
    sentences = [
        f"El gobierno de {city} {past} su programa de {topic}, que ya abarca {n:,} {unit} "
        f"en {d} colonias.",
        f"La inversión asciende a {rng.randint(5, 90)} millones de pesos y cuenta con el "
        f"apoyo de {rng.choice(ORGS)}.",
        f"«{rng.choice(ES_QUOTES)}», afirmó la titular de la Agencia Digital de Innovación "
        f"Pública.",
        f"Según la administración, el sistema permitirá reducir los tiempos de traslado hasta "
        f"en un {rng.randint(8, 35)} %.",
        f"Los resultados se publicarán en el portal de datos abiertos de la ciudad en "
        f"{rng.choice(('enero', 'marzo', 'junio', 'septiembre'))}.",
        "La ciudad compartirá su experiencia con otros miembros de WeGO en la oficina "
        "regional de México.",
    ]
    return title, " ".join(sentences[:1] + rng.sample(sentences[1:], 4))


RU_CITIES = ("Казань", "Москва", "Новосибирск", "Екатеринбург", "Тюмень", "Уфа", "Пермь")
RU_TOPICS = (
    ("Умное освещение", "светильников"),
    ("Цифровой двойник", "зданий"),
    ("Интеллектуальная транспортная система", "перекрёстков"),
    ("Чистый воздух", "датчиков"),
    ("Открытые данные", "наборов данных"),
    ("Умный ЖКХ", "домов"),
)


def russian(rng: random.Random) -> tuple[str, str]:
    city = rng.choice(RU_CITIES)
    topic, unit = rng.choice(RU_TOPICS)
    n, d = rng.choice((45, 130, 700, 2_400)), rng.randint(3, 12)
    title = rng.choice(
        (
            f"{city} расширяет проект «{topic}»",
            f"{city}: проект «{topic}» охватит {d} районов",
            f"Итоги пилотного проекта «{topic}» в городе {city}",
        )
    )
    sentences = [
        f"Власти города {city} объявили о расширении проекта «{topic}».",
        f"Проект охватит {n} {unit} в {d} районах.",
        f"Бюджет составит {rng.randint(40, 900)} млн рублей.",
        "«Технологии важны только тогда, когда жители замечают разницу», — отметил "
        "руководитель городского департамента информатизации.",
        "Первые результаты будут опубликованы на портале открытых данных в декабре.",
        "Опытом город поделится с другими членами WeGO через региональный офис в Казани.",
    ]
    return title, " ".join(sentences[:2] + rng.sample(sentences[2:], 3))


ZH_CITIES = ("成都", "杭州", "深圳", "上海", "武汉", "苏州", "郑州", "西安", "重庆")
ZH_TOPICS = (
    ("城市数字孪生平台", "个街道"),
    ("智慧停车系统", "个停车场"),
    ("空气质量监测网络", "个监测点"),
    ("智慧路灯", "盏路灯"),
    ("政务数据开放平台", "个数据集"),
    ("城市大脑交通治理", "个路口"),
    ("智慧社区", "个社区"),
)
ZH_QUOTES = (
    "技术只有让市民在日常生活中感受到变化才有意义",
    "我们先小范围试点，全面评估，再推广行之有效的做法",
    "数据将向社会开放，供其他城市借鉴",
)


def chinese(
    rng: random.Random, city: str | None = None, subject: tuple[str, str] | None = None
) -> tuple[str, str]:
    city = city or rng.choice(ZH_CITIES)
    topic, unit = subject or rng.choice(ZH_TOPICS)
    n = rng.choice((12, 36, 150, 800, 2400))
    title = rng.choice(
        (
            f"{city}发布{topic}建设方案",
            f"{city}{topic}试点扩大至{n}{unit}",
            f"{city}启动{topic}二期工程",
        )
    )
    sentences = [
        f"{city}市政府近日宣布，{topic}将覆盖{n}{unit}。",
        f"项目总投资{rng.randint(2, 40)}亿元，由{rng.choice(ORGS)}提供技术支持。",
        f"市大数据局负责人表示：“{rng.choice(ZH_QUOTES)}。”",
        f"首批成果预计于{rng.randint(1, 12)}月在城市数据开放平台公布。",
        f"该项目是{city}新型智慧城市建设规划的重要组成部分。",
        f"{city}还将通过世界智慧可持续城市组织（WeGO）与其他会员城市分享经验。",
    ]
    return title, "".join(sentences[:1] + rng.sample(sentences[1:], 4))


KO_CITIES = ("서울시", "부산시", "수원시", "대전시", "세종시", "인천시", "광주시")
KO_TOPICS = (
    ("스마트시티 리빙랩", "개 기업"),
    ("디지털 트윈 플랫폼", "개 자치구"),
    ("스마트 가로등", "개"),
    ("대기질 센서", "개 지점"),
    ("수요응답형 버스", "대"),
    ("공공 와이파이", "곳"),
)
KO_QUOTES = (
    "시민이 일상에서 변화를 느낄 수 있어야 기술이 의미가 있다",
    "작게 시작해 모두 측정하고 효과가 있는 것을 확대하겠다",
    "결과를 공개해 다른 도시들도 활용할 수 있도록 하겠다",
)


def korean(rng: random.Random, city: str | None = None) -> tuple[str, str]:
    city = city or rng.choice(KO_CITIES)
    topic, unit = rng.choice(KO_TOPICS)
    n = rng.choice((15, 30, 120, 500, 1200))
    title = rng.choice(
        (
            f"{city}, {topic} {n}{unit}로 확대",
            f"{city}, {topic} 참여 기업 모집",
            f"{city} {topic} 시범사업 결과 발표",
        )
    )
    sentences = [
        f"{city}는 {topic} 사업을 {n}{unit}로 확대한다고 밝혔다.",
        f"총 사업비는 {rng.randint(10, 300)}억 원이며 {rng.choice(ORGS)}가 기술을 지원한다.",
        f"{city} 스마트도시정책관은 “{rng.choice(KO_QUOTES)}”라고 말했다.",
        f"사업 결과는 {rng.randint(1, 12)}월 열린데이터광장에 공개될 예정이다.",
        "이번 사업은 세계스마트시티기구(WeGO) 회원 도시들과도 공유된다.",
    ]
    return title, " ".join(sentences[:1] + rng.sample(sentences[1:], 3))


# --- how each partner renders a story --------------------------------------------------------


def slug(title: str) -> str:
    """A CMS's URL slug: accents dropped, other scripts percent-encoded (as WordPress does),
    made unique with -2, -3... like a CMS does for a repeated title."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:70].rstrip("-")
    if not title.isascii() and len(words) < len(title) // 2:
        words = quote("-".join(re.findall(r"\w+", title.lower()))[:30], safe="-").lower()
    count = IDS.take(f"slug:{words}", 1)
    return words if count == 1 else f"{words}-{count}"


def paragraphs(text: str) -> str:
    """Text as 2-3 HTML paragraphs, as a CMS would store it."""
    sentences = re.split(r"(?<=[.!?。”»])\s*", text)
    sentences = [s for s in sentences if s]
    third = max(1, len(sentences) // 3)
    chunks = [sentences[:third], sentences[third : 2 * third], sentences[2 * third :]]
    joiner = "" if re.search(r"[\u4e00-\u9fff]", text) else " "
    return "".join(f"<p>{html.escape(joiner.join(c), quote=False)}</p>" for c in chunks if c)


def excerpt(text: str, words: int) -> str:
    """The first ``words`` words of the text (characters for scripts without spaces)."""
    if " " not in text.strip():
        return text[: words * 2]
    return " ".join(_words(text)[:words])


ENDINGS = (" …", "…", " […]", " [...]", "...")


def teaser(rng: random.Random, text: str, link: str) -> str:
    """A summary that is an excerpt of the full text, the way partners cut them."""
    cut = excerpt(text, rng.randint(30, 60))
    style = rng.randrange(4)
    if style == 3:
        return f'<p>{html.escape(cut, quote=False)}… <a href="{link}">Read more</a></p>'
    return f"<p>{html.escape(cut, quote=False)}{rng.choice(ENDINGS)}</p>"


def wordpress_summary(text: str, link: str, title: str) -> str:
    """WordPress's RSS description: a 55-word excerpt and the 'appeared first' footer."""
    cut = html.escape(excerpt(text, 55), quote=False)
    return (
        f'<p>{cut} [&hellip;]</p>\n<p>The post <a rel="nofollow" href="{link}">'
        f"{html.escape(title)}</a> appeared first on "
        f'<a rel="nofollow" href="https://we-gov.org">WeGO</a>.</p>'
    )


def curly(title: str) -> str:
    """Typographic quotes and apostrophes, as WordPress's wptexturize writes them."""
    title = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", title)
    title = re.sub(r"'([^']*)'", "\u2018\\1\u2019", title)
    return re.sub(r'"([^"]*)"', "\u201c\\1\u201d", title)


def wordpress_title(title: str) -> str:
    """A WordPress RSS title: curly quotes written as numeric character references."""
    refs = {"&": "&#038;", "\u2018": "&#8216;", "\u2019": "&#8217;", "\u201c": "&#8220;",
            "\u201d": "&#8221;", "\u2013": "&#8211;"}  # fmt: skip
    return "".join(refs.get(ch, ch) for ch in curly(title))


SMALL_WORDS = {"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "with"}


def title_case(title: str) -> str:
    """SCW-style headline case."""
    words = title.split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


class Ids:
    """Per-partner counters for post ids, article numbers and guids."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def reset(self) -> None:
        self._next.clear()

    def take(self, name: str, start: int) -> int:
        value = self._next.get(name, start)
        self._next[name] = value + 1
        return value


IDS = Ids()


def at(rng: random.Random, day: float) -> datetime:
    when = START + timedelta(days=day)
    return when.replace(hour=rng.randint(0, 22), minute=rng.randrange(60), second=0)


def wego_copy(
    rng: random.Random, title: str, text: str, when: datetime, *, summary_only: bool = False
) -> Copy:
    post = IDS.take("wego", 18_400)
    link = f"https://we-gov.org/news-2026/{slug(title)}/"
    return Copy(
        feed_id="wego",
        link=link,
        guid=f"https://we-gov.org/?p={post}",
        title=wordpress_title(title),
        title_is_html=True,
        summary=wordpress_summary(text, link, title),
        content="" if summary_only else paragraphs(text),
        published=when,
    )


def scw_copy(
    rng: random.Random,
    feed_id: str,
    title: str,
    text: str,
    when: datetime,
    *,
    summary: str | None = None,
) -> Copy:
    number = IDS.take("scw", 11_200)
    section = {"scw-news": "news/news", "scw-whitepapers": "whitepapers", "scw-webinars":
               "webinars"}[feed_id]  # fmt: skip
    link = f"https://www.smartcitiesworld.net/{section}/{slug(title)}-{number}"
    return Copy(
        feed_id=feed_id,
        link=link,
        guid=link,
        title=title,
        summary=summary if summary is not None else f"<p>{html.escape(text, quote=False)}</p>",
        content="",
        published=when,
    )


def urbanlab_copy(rng: random.Random, title: str, text: str, when: datetime) -> Copy:
    number = IDS.take("urbanlab", 310)
    link = f"https://urbanfutureslab.org/publications/{slug(title)}/"
    abstract = excerpt(text, rng.randint(35, 50))
    return Copy(
        feed_id="urbanlab",
        link=link,
        guid=f"urbanlab-pub-{number}",
        title=title,
        summary=f"<p>{html.escape(abstract, quote=False)} …</p>",
        content=paragraphs(text),
        published=when,
    )


def cityforum_copy(rng: random.Random, title: str, text: str, when: datetime) -> Copy:
    number = IDS.take("cityforum", 1_040)
    return Copy(
        feed_id="cityforum-events",
        link=f"https://events.cityforum.org/event?id={number}",
        guid="",  # minted per batch
        title=title,
        summary=f"<p>{html.escape(text, quote=False)}</p>",
        content="",
        published=when,
        batches=(1, 2, 3),
        churn_guid=True,
    )


def digest_copy(
    rng: random.Random, original: Copy, link: str, when: datetime, *, title: str | None = None
) -> Copy:
    """The curated newsletter's item: the original's page title, a short excerpt."""
    number = IDS.take("digest", 7_000)
    text = _plain(original.content or original.summary)
    return Copy(
        feed_id="metropolis-digest",
        link=link,
        guid=f"metropolis-digest-{when:%Y%m%d}-{number}",
        title=title if title is not None else _plain(original.title),
        summary=teaser(rng, text, link),
        content="",
        published=when,
    )


def _plain(markup: str) -> str:
    text = re.sub(r"<[^>]+>", " ", markup)
    text = re.sub(r"The post .* appeared first on .*", "", text)
    return " ".join(html.unescape(text).replace(" [\u2026]", "").split())


# --- the stories -----------------------------------------------------------------------------


class Stories:
    def __init__(self) -> None:
        self.items: list[Story] = []

    def new(self, case: str) -> tuple[Story, random.Random]:
        label = f"{case}-{sum(1 for s in self.items if s.case == case) + 1:02d}"
        story = Story(label, case)
        self.items.append(story)
        return story, random.Random(f"{SEED}:{label}")


def add_press_releases(stories: Stories, count: int) -> None:
    """WeGO's press release, and SCW's copy of it a day or two later, titled SCW's way."""
    for n in range(count):
        story, rng = stories.new("press-release")
        f = facts(rng)
        title, text = press_release(rng, f)
        when = at(rng, rng.uniform(0, DAYS))
        wego = wego_copy(rng, title, text, when, summary_only=n % 5 == 4)
        story.copies.append(wego)
        scw_title = [
            title_case(title),
            f"PRESS RELEASE: {title}",
            f"{title} | SmartCitiesWorld",
            title.replace("'", '"'),
            title,
            f"Press release: {title_case(title)}",
        ][n % 6]
        if n % 4 == 2 and f.city in title and f.topic.name in title:
            # SCW's editors wrote their own headline.
            scw_title = f"{f.city} and WeGO team up on {f.topic.name}"
        scw_when = when + timedelta(hours=rng.randint(2, 52))
        if n % 3 == 0:
            summary = teaser(rng, text, "https://www.smartcitiesworld.net/")
        elif n % 3 == 1:
            summary = paragraphs(text)  # SCW ran the full text
        else:
            summary = f"<p>{html.escape(excerpt(text, rng.randint(30, 45)), quote=False)}</p>"
        scw = scw_copy(rng, "scw-news", scw_title, text, scw_when, summary=summary)
        if n % 7 == 3:
            # Entities escaped twice by the partner's CMS: the member sees "&amp;" literally.
            scw = replace(scw, title=scw.title.replace(" and ", " &amp; "))
        if n % 7 == 5:
            scw = replace(scw, title=html.escape(curly(scw.title)), title_is_html=True)
        story.copies.append(scw)
        if n % 4 == 1:
            # The think tank, a co-signer, posts it too, its summary cut at "Read more".
            number = IDS.take("urbanlab", 310)
            link = f"https://urbanfutureslab.org/news/{slug(title)}/"
            story.copies.append(
                Copy(
                    feed_id="urbanlab",
                    link=link,
                    guid=f"urbanlab-news-{number}",
                    title=curly(title),
                    summary=teaser(rng, text, link),
                    content="",
                    published=when + timedelta(hours=rng.randint(1, 40)),
                )
            )


def add_guid_churn(stories: Stories, count: int) -> None:
    """The event host's webinars: listed in every fetch, each time with new guids."""
    for n in range(count):
        story, rng = stories.new("guid-churn")
        f = facts(rng)
        when = at(rng, rng.uniform(10, DAYS))
        title, text = webinar(rng, f, when + timedelta(days=rng.randint(7, 21)))
        story.copies.append(cityforum_copy(rng, title, text, when))
        if n % 3 == 0:  # SCW lists the same webinar; the event host is the organizer
            story.copies.append(
                scw_copy(rng, "scw-webinars", title_case(title), text, when + timedelta(hours=5))
            )


ES_HOST = "ciudadeshoy.mx"
RU_HOST = "wego-russia.ru"


def add_scheme_flips(stories: Stories, spanish_count: int, russian_count: int) -> None:
    """Partners whose links (used as guids) flip http/https and www. between fetches."""
    for _ in range(spanish_count):
        story, rng = stories.new("scheme-www-flip")
        title, text = spanish(rng)
        path = f"/noticias/2026/{slug(title)}"
        story.copies.append(
            Copy(
                feed_id="ciudades-hoy",
                link=f"https://www.{ES_HOST}{path}",
                guid="",
                title=title,
                summary=f"<p>{html.escape(excerpt(text, 40), quote=False)}…</p>",
                content=paragraphs(text),
                published=at(rng, rng.uniform(0, DAYS)),
                batches=(1, 2),
                flip_link=True,
            )
        )
    for _ in range(russian_count):
        story, rng = stories.new("scheme-www-flip")
        title, text = russian(rng)
        number = IDS.take("ru", 300)
        story.copies.append(
            Copy(
                feed_id="wego-russia",
                link=f"https://www.{RU_HOST}/novosti/{number}/",
                guid="",
                title=title,
                summary=f"<p>{html.escape(text, quote=False)}</p>",
                content="",
                published=at(rng, rng.uniform(0, DAYS)),
                batches=(1, 2),
                flip_link=True,
            )
        )


def add_tracking(stories: Stories, count: int) -> None:
    """The newsletter links partner pages with tracking parameters and its own titles."""
    decorations = (
        "?utm_source=metropolis&utm_medium=email&utm_campaign=weekly",
        "?ref=metropolis-digest",
        "?fbclid=IwAR2x8Kq0sdf7RkHnWj3vEa",
        "?utm_source=newsletter&utm_medium=rss&utm_content=top-story",
    )
    for n in range(count):
        story, rng = stories.new("tracking-params")
        f = facts(rng)
        when = at(rng, rng.uniform(0, DAYS - 3))
        if n % 2 == 0:
            title, text = press_release(rng, f) if n % 4 == 0 else (english_title(rng, f), "")
            text = text or english_text(rng, f)
            original = wego_copy(rng, title, text, when)
            link = original.link + decorations[n % 4]
            if n % 4 == 2:
                link = original.link.rstrip("/") + decorations[n % 4]  # no trailing slash
        else:
            title, text = english_title(rng, f), english_text(rng, f)
            original = scw_copy(rng, "scw-news", title, text, when)
            link = original.link + decorations[n % 4]
        story.copies.append(original)
        later = when + timedelta(hours=rng.randint(6, 60))
        suffix = " | SmartCitiesWorld" if original.feed_id == "scw-news" else " - WeGO"
        digest_title = _plain(original.title) + (suffix if n % 3 == 0 else "")
        copy = digest_copy(rng, original, link, later, title=digest_title)
        if n % 5 == 4:
            copy = replace(copy, summary="")  # a title-only item: the link is all there is
        story.copies.append(copy)


def add_amp_mobile(stories: Stories, count: int) -> None:
    """Copies that link the AMP or mobile version of a partner's page."""
    for n in range(count):
        story, rng = stories.new("amp-mobile")
        f = facts(rng)
        when = at(rng, rng.uniform(0, DAYS - 3))
        later = when + timedelta(hours=rng.randint(3, 40))
        shape = n % 4
        if shape == 0:  # WordPress AMP plugin: /amp/ after the post's path
            title, text = english_title(rng, f), english_text(rng, f)
            original = wego_copy(rng, title, text, when)
            title_of_page = f"{title} - WeGO" if n % 8 == 0 else title
            amp = digest_copy(rng, original, original.link + "amp/", later, title=title_of_page)
            story.copies += [original, amp]
        elif shape == 1:  # an amp. host
            title, text = english_title(rng, f), english_text(rng, f)
            original = scw_copy(rng, "scw-news", title, text, when)
            amp_link = original.link.replace("://www.", "://amp.")
            title_of_page = f"{title} | SmartCitiesWorld" if n % 8 == 1 else title_case(title)
            amp = digest_copy(rng, original, amp_link, later, title=title_of_page)
            story.copies += [original, amp]
        elif shape == 2:  # an m. host, the Chinese media partner's mobile site
            title, text = chinese(rng)
            number = IDS.take("zhcity", 88_100)
            original = Copy(
                feed_id="zhcity",
                link=f"https://www.zhcity.cn/article/{number}.html",
                guid=f"zhcity-{number}",
                title=title,
                summary=f"<p>{html.escape(text, quote=False)}</p>",
                content="",
                published=when,
            )
            cn = IDS.take("wego-cn", 5_500)
            mobile = Copy(
                feed_id="wego-china",
                link=f"https://m.zhcity.cn/article/{number}.html/",
                guid=f"wego-cn-{cn}",
                title=f"转载：{title}" if n % 8 == 2 else title,
                summary=f"<p>{html.escape(excerpt(text, 30), quote=False)}……</p>",
                content="",
                published=later,
            )
            story.copies += [original, mobile]
        else:  # /amp suffix on SCW, the digest's item
            title, text = english_title(rng, f), english_text(rng, f)
            original = scw_copy(rng, "scw-news", title, text, when)
            title_of_page = f"{title} - SmartCitiesWorld" if n % 8 == 3 else title
            amp = digest_copy(rng, original, original.link + "/amp", later, title=title_of_page)
            story.copies += [original, amp]


def add_late_syndication(stories: Stories, count: int) -> None:
    """A copy on another partner's feed 4-10 days after the original."""
    for n in range(count):
        story, rng = stories.new("late-syndication")
        f = facts(rng)
        when = at(rng, rng.uniform(0, DAYS - 10))
        later = when + timedelta(days=rng.randint(4, 10), hours=rng.randint(0, 12))
        if n % 3 == 0:  # the think tank's report, later in SCW's whitepaper library
            title, text = whitepaper(rng, f)
            story.copies.append(urbanlab_copy(rng, title, text, when))
            scw_title = f"Report: {title}" if n % 2 == 0 else title_case(title)
            story.copies.append(
                scw_copy(rng, "scw-whitepapers", scw_title, text, later,
                         summary=teaser(rng, text, "https://www.smartcitiesworld.net/"))
            )  # fmt: skip
        elif n % 3 == 1:  # WeGO's story, republished by SCW
            title, text = english_title(rng, f), english_text(rng, f)
            story.copies.append(wego_copy(rng, title, text, when))
            story.copies.append(
                scw_copy(rng, "scw-news", title_case(title), text, later,
                         summary=teaser(rng, text, "https://www.smartcitiesworld.net/"))
            )  # fmt: skip
        else:  # SCW's story, picked up by WeGO's news page
            title, text = english_title(rng, f), english_text(rng, f)
            story.copies.append(scw_copy(rng, "scw-news", title, text, when))
            story.copies.append(wego_copy(rng, title, text, later))


def add_chinese_pairs(stories: Stories, count: int) -> None:
    """WeGO's China office and a Chinese media partner: no spaces between words."""
    for n in range(count):
        story, rng = stories.new("multilingual-zh")
        title, text = chinese(rng)
        when = at(rng, rng.uniform(0, DAYS))
        cn = IDS.take("wego-cn", 5_500)
        story.copies.append(
            Copy(
                feed_id="wego-china",
                link=f"https://cn.we-gov.org/news/{cn}.html",
                guid=f"wego-cn-{cn}",
                title=title,
                summary=f"<p>{html.escape(text, quote=False)}</p>",
                content="",
                published=when,
            )
        )
        number = IDS.take("zhcity", 88_100)
        media_title = ["【转载】" + title, title + "——WeGO中国办公室", title][n % 3]
        story.copies.append(
            Copy(
                feed_id="zhcity",
                link=f"https://www.zhcity.cn/article/{number}.html",
                guid=f"zhcity-{number}",
                title=media_title,
                summary=f"<p>{html.escape(text[: rng.randint(40, 70)], quote=False)}……</p>",
                content="",
                published=when + timedelta(hours=rng.randint(2, 30)),
            )
        )


def add_korean_pairs(stories: Stories, count: int) -> None:
    """WeGO's Korean post and the Seoul smart city portal's press release."""
    for n in range(count):
        story, rng = stories.new("multilingual-ko")
        title, text = korean(rng, city="서울시" if n % 2 == 0 else None)
        when = at(rng, rng.uniform(0, DAYS))
        story.copies.append(wego_copy(rng, title, text, when))
        number = IDS.take("seoul", 4_100)
        story.copies.append(
            Copy(
                feed_id="seoul-smartcity",
                link=f"https://smart.seoul.go.kr/board/view?no={number}",
                guid=f"seoul-smart-{number}",
                title=["[보도자료] " + title, title, "[보도자료] " + title.replace(", ", " ")][
                    n % 3
                ],
                summary=f"<p>{html.escape(text, quote=False)}</p>",
                content="",
                published=when - timedelta(hours=rng.randint(1, 20)),
            )
        )


WEBINAR_SERIES = (
    # (title pattern, feed, boilerplate shared by every episode, episode topics or None)
    (
        "Smart Mobility Webinar #{n}: {topic}",
        "scw-webinars",
        "Part of the SmartCitiesWorld Smart Mobility Webinar series. City leaders and industry "
        "experts discuss how data and new services are changing the way people move. "
        "Registration is free; each session lasts 60 minutes and is available on demand "
        "afterwards.",
        ("curb management", "micromobility data", "on-demand buses", "mobility hubs"),
    ),
    (
        "Data Governance Webinar Series - Episode {n}",
        "cityforum-events",
        "The Data Governance Webinar Series brings together city data officers to share what "
        "works: data-sharing agreements, privacy by design and open standards. Each episode "
        "features two cities and a question-and-answer session. Free to attend; registration "
        "required.",
        None,  # every episode announced with the same text
    ),
    (
        "WeGO Smart City Talks #{n}",
        "scw-webinars",
        "WeGO Smart City Talks is a monthly online conversation with mayors and chief digital "
        "officers from WeGO member cities. Hosted with SmartCitiesWorld.",
        None,
    ),
)


def add_webinar_series(stories: Stories) -> None:
    """Episodes of one series: the same boilerplate, only the number (and topic) differ."""
    for series, (pattern, feed_id, boilerplate, topics) in enumerate(WEBINAR_SERIES):
        first = random.Random(f"{SEED}:series:{series}").randint(5, 40)
        for episode in range(2, 6):
            story, rng = stories.new("webinar-series")
            topic = topics[episode - 2] if topics else ""
            title = pattern.format(n=episode, topic=topic)
            # The event host announced its whole series on one day; SCW one every two weeks.
            when = at(rng, first if series == 1 else first + 14 * (episode - 2))
            session = when + timedelta(days=10)
            text = f"{boilerplate} Session date: {session:%d %B %Y}, 14:00 UTC."
            if series == 0:
                text = f"This episode: {topic}. {text}"
            if feed_id == "cityforum-events":
                story.copies.append(cityforum_copy(rng, title, text, when))
            elif series == 2 and episode % 2 == 0:
                copy = scw_copy(rng, feed_id, title, text, when, summary="")  # title only
                story.copies.append(copy)
            else:
                story.copies.append(scw_copy(rng, feed_id, title, text, when))
            if series == 0 and episode == 3:  # the event host cross-lists one episode
                story.copies.append(cityforum_copy(rng, title, text, when + timedelta(hours=3)))


def add_recurring_titles(stories: Stories) -> None:
    """'Weekly digest' and 'Smart cities news roundup': one title, new content each time."""
    weekly_start = 3
    for week in range(5):
        story, rng = stories.new("recurring-title")
        when = at(rng, weekly_start + 7 * week)
        headlines = [english_title(rng, facts(rng)) for _ in range(4)]
        text = "This week: " + "; ".join(headlines) + "."
        story.copies.append(scw_copy(rng, "scw-news", "Weekly digest", text, when))
        if week in (1, 3):  # WeGO's own weekly digest, the same day, other stories
            story, rng = stories.new("recurring-title")
            other = [english_title(rng, facts(rng)) for _ in range(3)]
            wego_text = "In the WeGO network this week: " + "; ".join(other) + "."
            story.copies.append(wego_copy(rng, "Weekly digest", wego_text, when))
    for day in range(5):
        story, rng = stories.new("recurring-title")
        when = at(rng, 50 + day)  # daily, a day apart
        headlines = [english_title(rng, facts(rng)) for _ in range(3)]
        text = "Today's selection: " + "; ".join(headlines) + "."
        copy = digest_copy(
            rng,
            Copy("x", "", "", "", "", f"<p>{text}</p>", when),
            f"https://metropolis-digest.com/roundup/{when:%Y-%m-%d}",
            when,
            title="Smart cities news roundup",
        )
        story.copies.append(replace(copy, summary=f"<p>{html.escape(text, quote=False)}</p>"))
    # SCW's and WeGO's roundups under one title of seven words (long enough for the title
    # rule to take it as no coincidence), two days apart, each with other stories.
    title = "Smart city news roundup for this week"
    for week in range(2):
        story, rng = stories.new("recurring-title")
        when = at(rng, 60 + 7 * week)
        text = "This week: " + "; ".join(english_title(rng, facts(rng)) for _ in range(3)) + "."
        story.copies.append(scw_copy(rng, "scw-news", title, text, when))
        story, rng = stories.new("recurring-title")
        wego_headlines = "; ".join(english_title(rng, facts(rng)) for _ in range(3))
        wego_text = f"In the WeGO network this week: {wego_headlines}."
        story.copies.append(wego_copy(rng, title, wego_text, when + timedelta(days=2)))


def add_same_day_same_partner(stories: Stories, count: int) -> None:
    """Two stories of one partner on one day, worded alike."""
    for n in range(count):
        first, rng = stories.new("same-day-same-partner")
        day = rng.uniform(0, DAYS)
        if n % 3 == 2:  # membership announcements from one template
            cities = rng.sample(CITIES, 2)
            for i, city in enumerate(cities):
                story = first if i == 0 else stories.new("same-day-same-partner")[0]
                text = (
                    f"WeGO is pleased to welcome the city of {city} as its newest member. "
                    f"{city} joins more than 200 member cities and will take part in WeGO's "
                    f"working groups on smart mobility, digital government and resilience. "
                    f"Membership gives city staff access to training, study visits and the "
                    f"WeGO Smart Sustainable City Awards."
                )
                story.copies.append(
                    wego_copy(rng, f"WeGO welcomes {city} as new member city", text, at(rng, day))
                )
            continue
        city = rng.choice(CITIES)
        area = rng.choice(sorted({t.area for t in TOPICS}))
        topics = rng.sample([t for t in TOPICS if t.area == area], 2)
        for i, topic in enumerate(topics):
            story = first if i == 0 else stories.new("same-day-same-partner")[0]
            f = replace(facts(rng, city=city, topic=topic), verb=VERBS[n % len(VERBS)])
            title = f"{city} {f.verb[0]} {topic.name} to {f.districts} districts"
            story.copies.append(
                scw_copy(rng, "scw-news", title, english_text(rng, f), at(rng, day))
            )


def add_query_ids(stories: Stories) -> None:
    """Pages told apart only by a query parameter: ?id=12 and ?id=13 are different items."""
    # The event host's sessions of one forum; the digest links one of them.
    forum, rng = stories.new("query-id")
    day = rng.uniform(20, 60)
    sessions = (("digital twins", "Busan"), ("mobility data", "Lisbon"), ("flood resilience",
                "Surabaya"))  # fmt: skip
    base: Copy | None = None
    for i, (topic, city) in enumerate(sessions):
        story = forum if i == 0 else stories.new("query-id")[0]
        title = f"Smart Cities Forum 2026: session on {topic}"
        text = (
            f"The Smart Cities Forum 2026 session on {topic} brings together speakers from "
            f"{city} and {rng.choice(CITIES)}. Seats are limited; the session is also streamed "
            f"online. Forum programme and registration on the event page."
        )
        copy = cityforum_copy(rng, title, text, at(rng, day))
        story.copies.append(copy)
        base = base or copy
    assert base is not None
    forum.copies.append(
        digest_copy(rng, base, base.link + "&utm_source=metropolis", at(rng, day + 1))
    )
    # The think tank's publication pages, and SCW's pointer to one of them.
    for pair in range(2):
        first, rng = stories.new("query-id")
        day = rng.uniform(0, DAYS - 2)
        audiences = ("mid-sized cities", "port cities") if pair == 0 else ("capitals", "islands")
        for i, audience in enumerate(audiences):
            story = first if i == 0 else stories.new("query-id")[0]
            f = facts(rng)
            number = 12 + i + 20 * pair
            title = f"Policy brief: data governance for {audience}"
            text = whitepaper(rng, f)[1]
            link = f"https://urbanfutureslab.org/publication.php?id={number}"
            story.copies.append(
                Copy(
                    feed_id="urbanlab",
                    link=link,
                    guid=f"urbanlab-brief-{number}",
                    title=title,
                    summary=f"<p>{html.escape(excerpt(text, 45), quote=False)} …</p>",
                    content=paragraphs(text),
                    published=at(rng, day),
                )
            )
            if i == 0:
                scw = scw_copy(rng, "scw-whitepapers", title_case(title), text, at(rng, day + 1),
                               summary=teaser(rng, text, link))  # fmt: skip
                story.copies.append(replace(scw, link=link + "&ref=smartcitiesworld"))
    # Two notices of the Seoul portal: the same path, ?no= selects the notice.
    for _ in range(2):
        first, rng = stories.new("query-id")
        day = rng.uniform(0, DAYS)
        for i in range(2):
            story = first if i == 0 else stories.new("query-id")[0]
            title, text = korean(rng, city="서울시")
            number = IDS.take("seoul", 4_100)
            story.copies.append(
                Copy(
                    feed_id="seoul-smartcity",
                    link=f"https://smart.seoul.go.kr/board/view?no={number}",
                    guid=f"seoul-smart-{number}",
                    title=title,
                    summary=f"<p>{html.escape(text, quote=False)}</p>",
                    content="",
                    published=at(rng, day),
                )
            )


def add_same_topic_cross_partner(stories: Stories, count: int) -> None:
    """Two partners' different stories on one topic the same day: similar titles only."""
    for n in range(count):
        first, rng = stories.new("same-topic-cross-partner")
        day = rng.uniform(0, DAYS)
        if n == count - 1:  # in Chinese, two cities
            zh_topic = rng.choice(ZH_TOPICS)
            for i, city in enumerate(rng.sample(ZH_CITIES, 2)):
                story = first if i == 0 else stories.new("same-topic-cross-partner")[0]
                title, text = chinese(rng, city=city, subject=zh_topic)
                feed_id = ("wego-china", "zhcity")[i]
                number = IDS.take(feed_id, 5_500)
                story.copies.append(
                    Copy(
                        feed_id=feed_id,
                        link=f"https://{('cn.we-gov.org/news', 'www.zhcity.cn/article')[i]}/"
                        f"{number}.html",
                        guid=f"{feed_id}-{number}",
                        title=title,
                        summary=f"<p>{html.escape(text, quote=False)}</p>",
                        content="",
                        published=at(rng, day),
                    )
                )
            continue
        topic = rng.choice(TOPICS)
        same_city = n % 2 == 0
        city = rng.choice(CITIES)
        verb = rng.choice(VERBS)
        for i in range(2):
            story = first if i == 0 else stories.new("same-topic-cross-partner")[0]
            f = replace(
                facts(rng, city=city if same_city else None, topic=topic),
                verb=verb if i == 0 else rng.choice(VERBS),
            )
            title = f"{f.city} {f.verb[0]} {topic.name} to {f.districts} districts"
            text = english_text(rng, f)
            if i == 0:
                story.copies.append(wego_copy(rng, title, text, at(rng, day)))
            else:
                story.copies.append(scw_copy(rng, "scw-news", title, text, at(rng, day)))


def add_same_title_other_kind(stories: Stories, count: int) -> None:
    """SCW's whitepaper and SCW's webinar about it: one title, two things to offer."""
    for _ in range(count):
        first, rng = stories.new("same-title-other-kind")
        f = facts(rng)
        title, text = whitepaper(rng, f)
        when = at(rng, rng.uniform(0, DAYS - 14))
        first.copies.append(scw_copy(rng, "scw-whitepapers", title, text, when))
        second, _ = stories.new("same-title-other-kind")
        session = when + timedelta(days=rng.randint(7, 14))
        talk = (
            f"Join the authors of the new whitepaper {title} and {f.official[0]}, "
            f"{f.official[1]} in {f.city}, to discuss its findings on {f.topic.name}. "
            f"The webinar takes place on {session:%d %B %Y} at 15:00 UTC; registration is free."
        )
        second.copies.append(scw_copy(rng, "scw-webinars", title, talk, when))


def add_singletons(stories: Stories, count: int) -> None:
    """Everything else a partner publishes: one copy, nobody else carries it."""
    makers: tuple[Callable[[Story, random.Random], None], ...] = (
        _single_wego, _single_scw, _single_scw, _single_scw_whitepaper, _single_scw_webinar,
        _single_urbanlab, _single_digest, _single_chinese, _single_korean, _single_russian,
        _single_scw, _single_wego, _single_cityforum,
    )  # fmt: skip
    for n in range(count):
        story, rng = stories.new("singleton")
        makers[n % len(makers)](story, rng)
        if n % 9 == 4 and story.copies[0].feed_id in ("scw-news", "scw-webinars", "zhcity"):
            story.copies[0] = replace(story.copies[0], summary="")  # title only


def _single_wego(story: Story, rng: random.Random) -> None:
    f = facts(rng)
    title, text = english_title(rng, f), english_text(rng, f)
    when = at(rng, rng.uniform(0, DAYS))
    story.copies.append(wego_copy(rng, title, text, when, summary_only=rng.random() < 0.5))


def _single_scw(story: Story, rng: random.Random) -> None:
    f = facts(rng)
    title, text = english_title(rng, f), english_text(rng, f)
    when = at(rng, rng.uniform(0, DAYS))
    story.copies.append(
        scw_copy(rng, "scw-news", title, text, when, summary=teaser(rng, text, "https://scw/"))
    )


def _single_scw_whitepaper(story: Story, rng: random.Random) -> None:
    title, text = whitepaper(rng, facts(rng))
    story.copies.append(
        scw_copy(rng, "scw-whitepapers", title, text, at(rng, rng.uniform(0, DAYS)))
    )


def _single_scw_webinar(story: Story, rng: random.Random) -> None:
    when = at(rng, rng.uniform(0, DAYS))
    title, text = webinar(rng, facts(rng), when + timedelta(days=12))
    story.copies.append(scw_copy(rng, "scw-webinars", title, text, when))


def _single_urbanlab(story: Story, rng: random.Random) -> None:
    title, text = whitepaper(rng, facts(rng))
    story.copies.append(urbanlab_copy(rng, title, text, at(rng, rng.uniform(0, DAYS))))


def _single_cityforum(story: Story, rng: random.Random) -> None:
    # A new listing, only in the event host's last fetch.
    when = at(rng, rng.uniform(DAYS - 3, DAYS))
    title, text = webinar(rng, facts(rng), when + timedelta(days=20))
    story.copies.append(replace(cityforum_copy(rng, title, text, when), batches=(3,)))


def _single_digest(story: Story, rng: random.Random) -> None:
    f = facts(rng)
    title, text = english_title(rng, f), english_text(rng, f)
    when = at(rng, rng.uniform(0, DAYS))
    host = rng.choice(("citylab.example.com", "govtech.example.org", "urbanist.example.net"))
    link = f"https://{host}/{slug(title)}?utm_source=metropolis&utm_medium=email"
    source = Copy("x", "", "", title, "", f"<p>{text}</p>", when)
    story.copies.append(digest_copy(rng, source, link, when))


def _single_chinese(story: Story, rng: random.Random) -> None:
    title, text = chinese(rng)
    feed_id = rng.choice(("wego-china", "zhcity"))
    number = IDS.take(feed_id, 5_500)
    host = "cn.we-gov.org/news" if feed_id == "wego-china" else "www.zhcity.cn/article"
    story.copies.append(
        Copy(
            feed_id=feed_id,
            link=f"https://{host}/{number}.html",
            guid=f"{feed_id}-{number}",
            title=title,
            summary=f"<p>{html.escape(text, quote=False)}</p>",
            content="",
            published=at(rng, rng.uniform(0, DAYS)),
        )
    )


def _single_korean(story: Story, rng: random.Random) -> None:
    title, text = korean(rng)
    if rng.random() < 0.5:
        story.copies.append(wego_copy(rng, title, text, at(rng, rng.uniform(0, DAYS))))
        return
    number = IDS.take("seoul", 4_100)
    story.copies.append(
        Copy(
            feed_id="seoul-smartcity",
            link=f"https://smart.seoul.go.kr/board/view?no={number}",
            guid=f"seoul-smart-{number}",
            title=title,
            summary=f"<p>{html.escape(text, quote=False)}</p>",
            content="",
            published=at(rng, rng.uniform(0, DAYS)),
        )
    )


def _single_russian(story: Story, rng: random.Random) -> None:
    title, text = russian(rng)
    number = IDS.take("ru", 300)
    story.copies.append(
        Copy(
            feed_id="wego-russia",
            link=f"https://{RU_HOST}/novosti/{number}/",
            guid=f"https://{RU_HOST}/novosti/{number}/",
            title=title,
            summary=f"<p>{html.escape(text, quote=False)}</p>",
            content="",
            published=at(rng, rng.uniform(0, DAYS)),
        )
    )


def all_stories() -> list[Story]:
    IDS.reset()
    stories = Stories()
    add_press_releases(stories, 22)
    add_guid_churn(stories, 7)
    add_scheme_flips(stories, 6, 3)
    add_tracking(stories, 10)
    add_amp_mobile(stories, 8)
    add_late_syndication(stories, 9)
    add_chinese_pairs(stories, 3)
    add_korean_pairs(stories, 3)
    add_webinar_series(stories)
    add_recurring_titles(stories)
    add_same_day_same_partner(stories, 6)
    add_query_ids(stories)
    add_same_topic_cross_partner(stories, 7)
    add_same_title_other_kind(stories, 3)
    add_singletons(stories, 150)
    return stories.items


# --- lines ---------------------------------------------------------------------------------


def _flipped(link: str, batch: int) -> str:
    """Odd fetches: http:// without www.; even ones: https://www."""
    bare = re.sub(r"^https?://(www\.)?", "", link)
    return f"http://{bare}" if batch % 2 else f"https://www.{bare}"


def lines(stories: list[Story]) -> Iterator[dict[str, object]]:
    rows: list[tuple[int, int, float, dict[str, object]]] = []
    feed_order = {feed_id: i for i, feed_id in enumerate(FEEDS)}
    for story in stories:
        for copy in story.copies:
            feed = FEEDS[copy.feed_id]
            for batch in copy.batches:
                assert batch in feed.batches, (copy.feed_id, batch)
                link, guid = copy.link, copy.guid
                if copy.flip_link:
                    link = guid = _flipped(copy.link, batch)
                if copy.churn_guid:
                    churn = random.Random(f"{SEED}:{story.label}:{copy.link}:{batch}")
                    guid = f"urn:uuid:{churn.getrandbits(128):032x}"
                row: dict[str, object] = {
                    "feed_id": copy.feed_id,
                    "kind": feed.kind,
                    "batch": batch,
                    "guid": guid,
                    "link": link,
                    "title": copy.title,
                    "title_is_html": copy.title_is_html,
                    "summary": copy.summary,
                    "content": copy.content,
                    "published": copy.published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "label": story.label,
                    "case": story.case,
                }
                rows.append((batch, feed_order[copy.feed_id], -copy.published.timestamp(), row))
    # By fetch, then feed; each fetch lists its newest entries first, as feeds do.
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    for _, _, _, row in rows:
        yield row


def render() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in lines(all_stories()))


def main() -> int:
    text = render()
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT}: {text.count(chr(10))} entries, {len(text.encode()) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
