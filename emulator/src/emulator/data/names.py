"""Company names and domains for emulated customers, unique per index without global state."""

from __future__ import annotations

import re

INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Healthcare": ("Dental Care", "Family Clinic", "Physiotherapy", "Medical Group", "Pharmacy", "Eye Care"),
    "Legal": ("Law Partners", "Legal Services", "Solicitors", "Attorneys"),
    "Accounting": ("Accounting", "Tax Advisors", "Bookkeeping", "Financial Planning"),
    "Manufacturing": ("Manufacturing", "Fabrication", "Precision Parts", "Plastics", "Metalworks"),
    "Retail": ("Outfitters", "Home Goods", "Garden Centre", "Cycles", "Books"),
    "Construction": ("Builders", "Construction", "Roofing", "Electrical", "Plumbing"),
    "Education": ("Academy", "Learning Centre", "Montessori School", "Tutoring"),
    "Nonprofit": ("Foundation", "Community Trust", "Food Bank", "Animal Rescue"),
    "Hospitality": ("Hotels", "Restaurants", "Catering", "Travel"),
    "Real Estate": ("Realty", "Property Management", "Estates"),
    "Technology": ("Software", "Data Systems", "Networks", "Labs"),
    "Financial Services": ("Capital", "Wealth Management", "Insurance Brokers", "Credit Union"),
    "Logistics": ("Logistics", "Freight", "Couriers", "Warehousing"),
    "Engineering": ("Engineering", "Surveying", "Consulting Engineers"),
    "Government": ("Town Council", "Water District", "Library District"),
}

_PLACES = (
    "Alder Creek",
    "Aspen",
    "Bayview",
    "Beacon",
    "Birchwood",
    "Blue Harbor",
    "Bramble",
    "Brightwater",
    "Cedar",
    "Clearwater",
    "Cobalt",
    "Copper Hill",
    "Crescent",
    "Eastgate",
    "Elm Street",
    "Evergreen",
    "Fairview",
    "Falcon",
    "Fernhill",
    "Fox Valley",
    "Glacier",
    "Golden Gate",
    "Granite",
    "Greenfield",
    "Harborview",
    "Hawthorn",
    "Highland",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lakeside",
    "Larkspur",
    "Lighthouse",
    "Maple",
    "Meadowbrook",
    "Millbrook",
    "Northwind",
    "Oakridge",
    "Orchard",
    "Pinecrest",
    "Prairie",
    "Quarry",
    "Redwood",
    "Ridgeline",
    "Riverbend",
    "Rosewood",
    "Sandstone",
    "Silver Lake",
    "Southport",
    "Spruce",
    "Stonebridge",
    "Summit",
    "Sunrise",
    "Tidewater",
    "Trillium",
    "Valley Forge",
    "Westbrook",
    "Willow",
)
_SUFFIXES = ("Ltd", "LLC", "Inc.", "GmbH", "LLP", "Pty Ltd", "B.V.", "Group")

_SPECIALTIES: tuple[tuple[str, str], ...] = tuple(
    (industry, specialty) for industry, specialties in INDUSTRIES.items() for specialty in specialties
)
_COMBINATIONS = len(_PLACES) * len(_SPECIALTIES) * len(_SUFFIXES)
# A multiplier coprime with the combination count turns index -> combination into a permutation,
# so every index below _COMBINATIONS gets a distinct name with no lookup table.
_STRIDE = 7919


def company_for(index: int, seed: int) -> tuple[str, str, str]:
    """Return (company name, industry, onmicrosoft.com prefix) for customer `index`; distinct per index."""
    offset = (seed * 104_729) % _COMBINATIONS
    code = (index * _STRIDE + offset) % _COMBINATIONS
    place = _PLACES[code % len(_PLACES)]
    code //= len(_PLACES)
    industry, specialty = _SPECIALTIES[code % len(_SPECIALTIES)]
    code //= len(_SPECIALTIES)
    suffix_index = code % len(_SUFFIXES)
    suffix = _SUFFIXES[suffix_index]
    generation = index // _COMBINATIONS
    # "Medical Group" with the suffix "Group" is simply "Medical Group": no real company is a "Group Group".
    # Still distinct, since every other suffix is spelled out.
    legal = "" if specialty.split()[-1] == suffix else f" {suffix}"
    name = f"{place} {specialty}{legal}" if not generation else f"{place} {specialty} {generation + 1}{legal}"
    # Tenants whose names differ only by legal suffix get numbered prefixes, as Entra makes you do.
    prefix = slug(f"{place}{specialty}")[:22]
    number = suffix_index + generation * len(_SUFFIXES)
    return name, industry, prefix + (str(number + 1) if number else "")


def slug(text: str) -> str:
    """`Blue Harbor Logistics` -> `blueharborlogistics`."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())
