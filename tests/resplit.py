"""Other splits of a signed form that keep its signature valid: the re-splitting attack.

Twilio's signature is an HMAC over the URL followed by each field's name and
value, in name order, joined with no separator. So characters can move
between a value and the next field's name, and a whole field can be folded
into the value before it, without changing the signed string. Tests use these
to check that no such variant runs a handler twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

__all__ = ["concatenation", "merge_next", "move_into_value", "variants"]


def concatenation(fields: Mapping[str, str]) -> str:
    return "".join(name + fields[name] for name in sorted(fields))


def move_into_value(fields: Mapping[str, str], index: int, count: int) -> dict[str, str] | None:
    """Move ``count`` characters from the start of the name after field ``index`` into it.

    The signature covers ``name + value`` of each field in sorted order, joined with
    no separator, so this keeps it valid whenever the sort order is unchanged.
    """
    names = sorted(fields)
    if index + 1 >= len(names) or count >= len(names[index + 1]):
        return None
    moved = names[index + 1][:count]
    new_name = names[index + 1][count:]
    if new_name in fields:
        return None
    result = {name: value for name, value in fields.items() if name != names[index + 1]}
    result[names[index]] = fields[names[index]] + moved
    result[new_name] = fields[names[index + 1]]
    if concatenation(result) != concatenation(fields):
        return None
    return result


def merge_next(fields: Mapping[str, str], index: int) -> dict[str, str] | None:
    """Fold the field after field ``index``, name and value, into its value."""
    names = sorted(fields)
    if index + 1 >= len(names):
        return None
    result = {name: value for name, value in fields.items() if name != names[index + 1]}
    result[names[index]] = fields[names[index]] + names[index + 1] + fields[names[index + 1]]
    return result if concatenation(result) == concatenation(fields) else None


def variants(fields: Mapping[str, str], limit: int) -> Iterator[dict[str, str]]:
    """Up to ``limit`` distinct re-splits of ``fields``, each with the same signature."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    for index in range(len(fields)):
        for count in range(0, 8):
            if count == 0:
                variant = merge_next(fields, index)
            else:
                variant = move_into_value(fields, index, count)
            if variant is None:
                continue
            frozen = tuple(sorted(variant.items()))
            if frozen in seen:
                continue
            seen.add(frozen)
            yield variant
            if len(seen) >= limit:
                return
