"""The analytics columns of Deal Brain's `cpu` table, by name: what the analytics compute and the
database stores. Both import them from here, so neither layer reaches into the other for them."""

PRICE_TARGET_COLUMNS = [
    "price_target_good",
    "price_target_great",
    "price_target_fair",
    "price_target_stddev",
    "price_target_sample_size",
    "price_target_confidence",
]
PERFORMANCE_COLUMNS = [
    "dollar_per_mark_single",
    "dollar_per_mark_multi",
    "performance_value_percentile",
    "performance_value_rating",
]
