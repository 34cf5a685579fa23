"""Reference data of a simulated account: users, pipelines and statuses, custom fields, reasons, tags.

Names are Russian, as in a typical amoCRM account; ids have the magnitudes real accounts show
(7-digit pipelines, 8-digit statuses and users), so a client that narrows an id type breaks here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohort_service.simulator.model import (
    LOST,
    WON,
    Channel,
    CustomField,
    EnumValue,
    Group,
    LossReason,
    Pipeline,
    Status,
    Tag,
    User,
)

FIRST_NAMES = (
    ("Анна", "anna"),
    ("Иван", "ivan"),
    ("Мария", "maria"),
    ("Дмитрий", "dmitry"),
    ("Елена", "elena"),
    ("Сергей", "sergey"),
    ("Ольга", "olga"),
    ("Алексей", "alexey"),
    ("Наталья", "natalia"),
    ("Павел", "pavel"),
    ("Юлия", "yulia"),
    ("Максим", "maxim"),
    ("Татьяна", "tatiana"),
    ("Никита", "nikita"),
    ("Ксения", "ksenia"),
    ("Андрей", "andrey"),
)
LAST_NAMES = (
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Васильев", "vasiliev"),
    ("Соколов", "sokolov"),
    ("Морозов", "morozov"),
    ("Волков", "volkov"),
    ("Лебедев", "lebedev"),
    ("Козлов", "kozlov"),
    ("Новиков", "novikov"),
    ("Фёдоров", "fedorov"),
    ("Орлов", "orlov"),
)
FEMALE = {"Анна", "Мария", "Елена", "Ольга", "Наталья", "Юлия", "Татьяна", "Ксения"}
STAGE_NAMES = (
    "Первичный контакт",
    "Квалификация",
    "Выявление потребности",
    "Переговоры",
    "Отправлено КП",
    "Принимают решение",
    "Согласование договора",
    "Выставлен счёт",
    "Ожидание оплаты",
)
PIPELINE_NAMES = ("Основная воронка", "Повторные продажи", "Партнёрский канал", "Опт")
COLORS = ("#99ccff", "#ffff99", "#ffcc66", "#ffcccc", "#ccc8f9", "#deff81", "#87f2c0", "#f9deff", "#98cbff")
LOSS_REASONS = (
    "Дорого",
    "Не целевой",
    "Пропала потребность",
    "Выбрали конкурента",
    "Не выходит на связь",
    "Нет бюджета",
    "Дубль",
    "Не устроили сроки",
)
TAGS = (
    ("VIP", "#ff0000"),
    ("Повторный", None),
    ("Сайт", None),
    ("Звонок", "#00aa00"),
    ("Вебинар", None),
    ("Опт", None),
    ("Срочно", "#ff9900"),
    ("Партнёр", None),
)
PRODUCTS = (
    ("Базовый тариф", 45_000),
    ("Стандарт", 120_000),
    ("Премиум", 380_000),
    ("Консалтинг", 90_000),
    ("Обучение", 30_000),
    ("Внедрение", 250_000),
)
CHANNELS = (
    Channel("yandex", "cpc", 0.27, 1.0, ("brand", "search_general", "retargeting")),
    Channel("google", "cpc", 0.11, 0.9, ("search", "pmax")),
    Channel("vk", "social", 0.14, 0.65, ("lookalike", "promo_post")),
    Channel("telegram", "social", 0.08, 0.8, ("channel_ads",)),
    Channel("email", "newsletter", 0.07, 1.3, ("digest", "webinar_invite")),
    Channel("partner", "referral", 0.08, 1.55, ("partners_q",)),
    Channel(None, None, 0.25, 1.15, ()),
)
COMPANY_NAMES = (("Ромашка", "romashka"), ("Вектор", "vector"), ("Север", "sever"), ("Горизонт", "gorizont"))


@dataclass(frozen=True)
class Catalog:
    account_id: int
    name: str
    subdomain: str
    created_at: int
    users: tuple[User, ...]
    groups: tuple[Group, ...]
    pipelines: tuple[Pipeline, ...]
    custom_fields: tuple[CustomField, ...]
    loss_reasons: tuple[LossReason, ...]
    tags: tuple[Tag, ...]


def build_catalog(rng: np.random.Generator, *, seed: int, start: int) -> Catalog:
    """All reference data; ``start`` (the first lead's earliest time) dates the account's setup."""
    created_at = start - int(rng.integers(30, 400)) * 86400
    company, latin = COMPANY_NAMES[seed % len(COMPANY_NAMES)]
    groups = (Group(0, "Отдел продаж"), Group(int(rng.integers(300_000, 400_000)), "Отдел развития"))
    return Catalog(
        account_id=int(rng.integers(28_000_000, 32_000_000)),
        name=f"ООО «{company}»",
        subdomain=f"{latin}{seed}",
        created_at=created_at,
        users=_users(rng, groups),
        groups=groups,
        pipelines=_pipelines(rng),
        custom_fields=_custom_fields(rng),
        loss_reasons=_loss_reasons(rng, created_at),
        tags=tuple(Tag(9_000 + 37 * i + int(rng.integers(0, 30)), n, c) for i, (n, c) in enumerate(TAGS)),
    )


def _users(rng: np.random.Generator, groups: tuple[Group, ...]) -> tuple[User, ...]:
    count = int(rng.integers(5, 31))
    inactive = set(rng.choice(np.arange(1, count), size=min(3, max(1, count // 6)), replace=False).tolist())
    ids = np.sort(rng.choice(np.arange(5_000_000, 12_000_000), size=count, replace=False))
    users = []
    for i in range(count):
        first, first_lat = FIRST_NAMES[(i * 7 + int(ids[i])) % len(FIRST_NAMES)]
        last, last_lat = LAST_NAMES[(i * 5 + int(ids[i]) // 7) % len(LAST_NAMES)]
        if first in FEMALE:
            last = last[:-1] + "ва" if last.endswith("й") else last + "а"
        group = groups[1].id if i % 4 == 3 else None
        users.append(
            User(
                int(ids[i]),
                f"{first} {last}",
                f"{first_lat}.{last_lat}{i}@example.com",
                "ru",
                is_admin=i == 0,
                is_active=i not in inactive,
                group_id=group,
            )
        )
    return tuple(users)


def _pipelines(rng: np.random.Generator) -> tuple[Pipeline, ...]:
    count = int(rng.integers(2, 5))
    pipe_ids = np.sort(rng.choice(np.arange(5_000_000, 9_999_999), size=count, replace=False))
    next_status = int(rng.integers(40_000_000, 70_000_000))
    pipelines = []
    for p in range(count):
        working = int(rng.integers(6, 8)) if p == 0 else int(rng.integers(4, 8))
        names = sorted(rng.choice(len(STAGE_NAMES), size=working, replace=False).tolist())
        statuses = [Status(next_status, "Неразобранное", 10, 1, "#c1c1c1", False)]
        for k, name_idx in enumerate(names):
            next_status += int(rng.integers(1, 4))
            statuses.append(Status(next_status, STAGE_NAMES[name_idx], 20 + 10 * k, 0, COLORS[k], True))
        next_status += int(rng.integers(3, 40))
        statuses.append(Status(WON, "Успешно реализовано", 10000, 0, "#CCFF66", False))
        statuses.append(Status(LOST, "Закрыто и не реализовано", 11000, 0, "#D5D8DB", False))
        pipelines.append(
            Pipeline(
                int(pipe_ids[p]),
                PIPELINE_NAMES[p],
                p + 1,
                is_main=p == 0,
                is_archive=False,
                statuses=tuple(statuses),
            )
        )
    return tuple(pipelines)


def _custom_fields(rng: np.random.Generator) -> tuple[CustomField, ...]:
    base = int(rng.integers(400_000, 900_000))
    products = tuple(EnumValue(base + 1000 + 2 * i, name, 500 + i) for i, (name, _) in enumerate(PRODUCTS))
    specs = [
        ("Потребность клиента", None, "textarea", "need", 9, None),
        ("UTM_SOURCE", "UTM_SOURCE", "text", "utm_source", 1, None),
        ("UTM_MEDIUM", "UTM_MEDIUM", "text", "utm_medium", 1, None),
        ("UTM_CAMPAIGN", "UTM_CAMPAIGN", "text", "utm_campaign", 1, None),
        ("Продукт", None, "select", "product", 4, products),
        ("Бюджет клиента", None, "numeric", "budget", 2, None),
        ("Оплачено", None, "checkbox", "paid", 3, None),
        ("Дата встречи", None, "date", "meeting", 6, None),
    ]
    return tuple(
        CustomField(base + 7 * i, name, code, kind, 500 + i, key, ev_type, enums, required=key == "need")
        for i, (name, code, kind, key, ev_type, enums) in enumerate(specs)
    )


def _loss_reasons(rng: np.random.Generator, created_at: int) -> tuple[LossReason, ...]:
    count = int(rng.integers(5, 9))
    first = int(rng.integers(4_000_000, 9_000_000))
    return tuple(
        LossReason(
            first + 11 * i, LOSS_REASONS[i], 100_000 + 1000 * i, created_at + 60 * i, created_at + 60 * i
        )
        for i in range(count)
    )
