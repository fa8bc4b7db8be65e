"""Static value pools the dataset draws from: awkward but realistic names, places, browsers.

Kept apart from the generator so the generation code stays about structure, not content.
"""

from __future__ import annotations

# Media name templates ({n} = a running number). Unicode on purpose: accents, CJK, Cyrillic,
# emoji, quotes and commas, a name with surrounding spaces.
MEDIA_NAME_TEMPLATES: tuple[str, ...] = (
    "Product demo {n}",
    "Webinar: Q{q} roadmap (part {n})",
    "Démo produit \u2013 épisode {n}",  # en dash on purpose
    "製品紹介ビデオ {n}",
    "Onboarding 🚀 step {n}",
    "Customer story: Müller & Söhne #{n}",
    "Как это работает {n}",
    'Say "hi", team — take {n}',
    "  Trailing spaces kept {n}  ",
    "Ünïcödé ✨ release notes {n}",
    "Tutorial {n}: getting started",
    "入门教程 第{n}集",
    "Señal de prueba {n}",
    "Podcast episode {n} 🎙️",
)

FOLDER_NAMES: tuple[str, ...] = (
    "Marketing",
    "Product",
    "Support & Help",
    "Événements",
    "社内研修",
    "Webinars 2026",
)

TAG_NAMES: tuple[str, ...] = ("demo", "webinar", "how-to", "launch", "internal", "ünicode")

SECTIONS: tuple[str, ...] = ("Intro", "Deep dives", "Archive")

# (country, region, city, lat, lon); lat/lon None for unresolved locations.
GEO: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    ("US", "California", "San Francisco", 37.7749, -122.4194),
    ("US", "New York", "New York", 40.7128, -74.006),
    ("US", "Massachusetts", "Boston", 42.3601, -71.0589),
    ("GB", "England", "London", 51.5074, -0.1278),
    ("DE", "Bayern", "München", 48.1351, 11.582),
    ("CH", "Zürich", "Zürich", 47.3769, 8.5417),
    ("FR", "Île-de-France", "Paris", 48.8566, 2.3522),
    ("BR", "São Paulo", "São Paulo", -23.5505, -46.6333),
    ("JP", "Tokyo", "東京", 35.6762, 139.6503),
    ("IN", "Karnataka", "Bengaluru", 12.9716, 77.5946),
    ("AU", "New South Wales", "Sydney", -33.8688, 151.2093),
    ("CA", "Québec", "Montréal", 45.5019, -73.5674),
    ("ZA", "Gauteng", "Johannesburg", -26.2041, 28.0473),
    ("US", "", "", None, None),
    ("", "", "", None, None),
)

ORGS: tuple[str, ...] = (
    "Comcast Cable",
    "Verizon Fios",
    "Deutsche Telekom AG",
    "NTT Communications",
    "Acme Corp",
    "Globex Corporation",
    "Orange S.A.",
    "",
)

# (browser, browser_version as a string, platform, mobile)
USER_AGENTS: tuple[tuple[str, str, str, bool], ...] = (
    ("Chrome", "131", "Windows", False),
    ("Chrome", "130.0.6723", "Mac OS X", False),
    ("Firefox", "133", "Linux", False),
    ("Safari", "18.1", "Mac OS X", False),
    ("Mobile Safari", "18.1.1", "iOS", True),
    ("Chrome Mobile", "131", "Android", True),
    ("Edge", "131", "Windows", False),
    ("Samsung Internet", "26.0", "Android", True),
    ("Unknown", "", "Unknown", False),
)

FIRST_NAMES: tuple[str, ...] = ("Ana", "José", "Zoë", "Łukasz", "美咲", "Olivia", "Noah", "Ingrid")
LAST_NAMES: tuple[str, ...] = ("García", "O'Brien", "Nguyễn", "Smith", "Müller", "山田", "Kowalski")
ORG_TITLES: tuple[str, ...] = ("CTO", "Marketing Manager", "Engineer", "Directeur général")
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "mail.example.net")

EMBED_HOSTS: tuple[str, ...] = (
    "https://www.example.com/videos/",
    "https://blog.example.org/posts/",
    "https://learn.example.net/course/",
)
