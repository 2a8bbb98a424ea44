"""Word lists and the fixed set of price lists the generated organisation uses.

The names mix Arabic and Latin script, quotes and emoji on purpose: an Iraqi distributor's
catalogue looks like this, and it is what breaks naive encoders and collations.
"""

from __future__ import annotations

from dataclasses import dataclass

PRODUCTS: tuple[str, ...] = (
    "زيت زيتون",
    "أرز بسمتي",
    "سكر أبيض",
    "شاي أسود",
    "معجون طماطم",
    "حليب مجفف",
    "Nescafé Gold",
    "Pepsi",
    "تمر البرحي",
    "عدس أحمر",
    "صابون Dove",
    "شامبو Head & Shoulders",
    "مناديل Fine",
    "Indomie نودلز",
    "جبن Kiri",
    "زبدة Lurpak",
    "معكرونة Barilla",
    "طحين صفر",
    "ماء Aquafina",
    "عصير Rani",
    "Olive Oil",
    "Basmati Rice",
    "Tuna Chunks",
    "Corn Flakes",
    "Green Tea",
    "هيل",
    "زعفران",
    "دبس تمر",
    "حلاوة طحينية",
    "Chocolate Galaxy",
    "بسكويت Oreo",
    "Tide مسحوق غسيل",
    "Fairy سائل جلي",
    "Clorox قاصر",
    "حفاضات Pampers",
    "معجون أسنان Colgate",
    "Lipton شاي",
    "قهوة عربية",
    "Pringles",
    "Nutella",
)

VARIANTS: tuple[str, ...] = (
    "Extra Virgin",
    "Classic",
    "Premium",
    "عائلي",
    "Light",
    "Original",
    "بالنعناع",
    "Spicy 🌶️",
    'Kids "Fun" Pack',
    "Zero",
    "بالهيل",
    "Gold ⭐",
)

SIZES: tuple[str, ...] = (
    "1L",
    "500ml",
    "5kg",
    "1kg",
    "250g",
    "24 × 330ml",
    "2L",
    "10 كغم",
    "6 حبات",
    "400g",
)

UNITS: tuple[str, ...] = ("pcs", "box", "kg", "carton", "قطعة", "L")

BRANDS: tuple[str, ...] = ("Al-Rafidain", "دجلة", "Babylon Foods", "Nestlé", "Unilever", "P&G")
ORIGINS: tuple[str, ...] = ("Iraq", "Turkey", "Iran", "UAE", "India", "Egypt", "Italy")

DESCRIPTIONS: tuple[str, ...] = (
    "",
    "",
    'Imported from Turkey 🇹🇷 — "best seller"',
    "منتج محلي عالي الجودة",
    "Keep in a cool, dry place. Don't freeze!",
    "عرض خاص 🎉 2+1",
    "Carton of 12; price per piece",
    "Halal ✅",
)

SHIPPING_ZONES: tuple[str, ...] = (
    "رسوم توصيل - بغداد",
    "Shipping fee – Erbil",
    "Delivery charge Basra",
    "رسوم شحن - الموصل",
    "Shipping fee – Najaf / كربلاء",
    "رسوم توصيل سريع ⚡",
    "Freight (pallet)",
    'Courier fee "same day"',
)

BUSINESS_PREFIXES: tuple[str, ...] = (
    "سوبرماركت",
    "مطعم",
    "شركة",
    "Hypermarket",
    "Mini Market",
    "Pharmacy",
    "Hotel",
    "مخبز",
    "Café",
    "Trading Co.",
)

BUSINESS_NAMES: tuple[str, ...] = (
    "النخيل",
    '"الأصدقاء" 🍽️',
    "Al-Rafidain",
    "دجلة للتجارة العامة",
    "Babylon",
    "الفرات",
    "Zagros",
    "Ishtar ✨",
    "السلام",
    "Mesopotamia",
    "النور",
    "O'Hara & Sons",
    "الكرادة",
    "Ankawa",
    "البصرة الحديثة",
    "Sumer",
)

CITIES: tuple[str, ...] = ("Baghdad", "Erbil", "Basra", "Mosul", "Najaf", "Karbala", "بغداد")

FIRST_NAMES: tuple[str, ...] = ("Ahmed", "علي", "Sara", "مريم", "Omar", "Zainab", "Hassan", "Noor")
LAST_NAMES: tuple[str, ...] = ("Al-Jubouri", "الحسيني", "Kareem", "العبيدي", "Saleh", "Hamid")

NOTES: tuple[str, ...] = (
    "",
    "Thank you for your business 🙏",
    "شكراً لتعاملكم معنا",
    'Deliver to the "back door" after 5pm',
    "",
)

ROUNDING_TYPES: tuple[str, ...] = (
    "no_rounding",
    "round_to_dollor",
    "round_to_dollar",
    "round_to_dollar_minus_01",
    "round_to_half_dollar",
    "round_to_half_dollar_minus_01",
)


@dataclass(frozen=True)
class PricebookDef:
    """One price list of the generated organisation; ``rule`` names its item membership."""

    key: str
    name: str
    currency_code: str
    status: str
    sales_or_purchase_type: str
    pricebook_type: str
    description: str
    percentage: float | str = ""
    is_increase: bool = False
    rounding_type: str = "no_rounding"
    rate_factor: float = 1.0


PRICEBOOKS: tuple[PricebookDef, ...] = (
    PricebookDef(
        "consumer",
        "Consumer",
        "IQD",
        "active",
        "sales",
        "per_item",
        "Default price list: walk-in and retail consumers (أسعار المستهلك)",
    ),
    PricebookDef(
        "wholesale_a",
        "Wholesale A USD",
        "USD",
        "active",
        "sales",
        "per_item",
        "Wholesale tier A, priced in US dollars",
        rate_factor=0.85,
    ),
    PricebookDef(
        "wholesale_b",
        "Wholesale B USD",
        "USD",
        "active",
        "sales",
        "per_item",
        "Wholesale tier B",
        rate_factor=0.9,
    ),
    PricebookDef(
        "retail",
        "Retail IQD",
        "IQD",
        "active",
        "sales",
        "per_item",
        'Shops that resell: "Retail" tier',
        rate_factor=1.1,
    ),
    PricebookDef(
        "old_prices",
        "Old Prices 2023",
        "IQD",
        "inactive",
        "sales",
        "per_item",
        "Kept for history; not used any more",
        rate_factor=0.9,
    ),
    PricebookDef(
        "supplier_costs",
        "Supplier Costs USD",
        "USD",
        "active",
        "purchases",
        "per_item",
        "What we pay our suppliers",
        rate_factor=0.7,
    ),
    PricebookDef(
        "ramadan",
        "Ramadan Offer -10% 🌙",
        "IQD",
        "inactive",
        "sales",
        "fixed_percentage",
        "Seasonal offer, switched off after Eid",
        10,
        False,
        "round_to_dollor",
    ),
    PricebookDef(
        "purchase_markup",
        "Purchase Markup 5%",
        "IQD",
        "active",
        "purchases",
        "fixed_percentage",
        "",
        5,
        True,
        "no_rounding",
    ),
    PricebookDef(
        "export_markup",
        "Export Markup USD",
        "USD",
        "inactive",
        "sales",
        "fixed_percentage",
        "",
        12.5,
        True,
        "round_to_dollar_minus_01",
    ),
    PricebookDef(
        "supplier_discount",
        "Supplier Discount 3%",
        "USD",
        "active",
        "purchases",
        "fixed_percentage",
        "",
        3,
        False,
        "round_to_half_dollar",
    ),
    PricebookDef(
        "clearance",
        "Clearance -25%",
        "IQD",
        "inactive",
        "sales",
        "fixed_percentage",
        "End-of-line clearance",
        25,
        False,
        "round_to_half_dollar_minus_01",
    ),
    PricebookDef(
        "staff",
        "Staff Price -15%",
        "IQD",
        "inactive",
        "sales",
        "fixed_percentage",
        "",
        15,
        False,
        "round_to_dollar",
    ),
)

USD_IQD = 1310.0
"""Exchange rate used for USD lists and USD invoices (IQD per USD)."""

LOCATIONS: tuple[str, ...] = (
    "المخزن الرئيسي Baghdad Main Warehouse",
    "Erbil Store / مخزن أربيل",
    "Basra Port Warehouse",
)
"""The organisation's stock locations; the first is the primary one."""

BILL_EXPENSES: tuple[str, ...] = (
    "أجور نقل Freight in",
    "Customs clearance / تخليص كمركي",
    "Packaging materials",
    "Pallet rental",
)
"""Bill lines for no catalogue item (``item_id`` empty): costs, not stock."""

ADJUSTMENT_REASONS: tuple[str, ...] = (
    "Stock count",
    "Damaged goods / تالف",
    "Expired",
    "Stolen goods",
    "Opening stock",
)

ORGANIZATION_NAMES: tuple[str, ...] = (
    "شركة بغداد للتوزيع Baghdad Distribution Co.",
    "Erbil Trading LLC / شركة أربيل التجارية",
    "Basra Wholesale Foods",
    "Mosul Household Supplies",
)
"""Names of the simulated organisations, in order; later ones are numbered."""
