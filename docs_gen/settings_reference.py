"""The settings reference: every field of core.config.Config with its variable, type, default and range."""

import inspect
from dataclasses import fields
from fnmatch import fnmatchcase

from core.config import Config
from core.config_checks import BELOW, KINDS, RULES
from docs_gen.setting_notes import NOTES

# Checks that are named functions rather than ranges or choices: what each accepts.
NAMED_CHECKS = {
    "_time_zone": "an IANA time zone name (`UTC`, `Europe/Moscow`)",
    "_redis_url": "empty, or a `redis://`, `rediss://` or `sentinel://` URL",
    "_networks": "IP addresses or networks, comma-separated",
    "_basic_auth": "empty, or `user:password` (several comma-separated)",
}


def variable(name: str) -> str:
    """A setting's environment variable: its field name in upper case (Config.from_env)."""
    return name.upper()


def accepts(name: str) -> str:
    """What a setting accepts beyond its type, from its checks (core/config_checks.py)."""
    said = [describe(check) for patterns, check in RULES
            if any(fnmatchcase(name, pattern) for pattern in patterns)]
    said += [f"below `{variable(limit)}`" for setting, limit in BELOW if setting == name]
    return "; ".join(said)


def describe(check) -> str:
    """One check in words: its choices, its limits, or what a named check stands for."""
    held = inspect.getclosurevars(check).nonlocals
    if "choices" in held:
        return "one of " + ", ".join(f"`{choice}`" for choice in held["choices"])
    if "limits" in held:
        return " and ".join(held["limits"])
    if check.__name__ not in NAMED_CHECKS:
        raise LookupError(f"docs_gen/settings_reference.py: say what {check.__name__} accepts in NAMED_CHECKS")
    return NAMED_CHECKS[check.__name__]


def default_of(field, resolved) -> str:
    """The declared default, and what an empty one turns into (the local stack's address)."""
    if field.default == "":
        return f"empty: `{resolved}`" if resolved else "empty"
    if isinstance(field.default, bool):
        return f"`{str(field.default).lower()}`"
    return f"`{field.default}`"


def rows():
    """(variable, type, default, accepts, meaning) per setting, in Config's order."""
    declared = [field.name for field in fields(Config)]
    missing, stale = set(declared) - set(NOTES), set(NOTES) - set(declared)
    if missing or stale:
        raise LookupError(f"docs_gen/setting_notes.py: no line for {sorted(missing)}; "
                          f"lines for settings that are gone: {sorted(stale)}")
    shipped = Config()
    for field in fields(Config):
        kind = KINDS.get(field.type, field.type.__name__).removeprefix("a ").removeprefix("an ")
        yield (variable(field.name), kind, default_of(field, getattr(shipped, field.name)),
               accepts(field.name), NOTES[field.name])


def render() -> str:
    """Markdown: one table of every setting."""
    lines = ["| variable | type | default | accepts | meaning |", "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in (f"`{name}`", *rest)) + " |"
              for name, *rest in rows()]
    return "\n".join(lines) + "\n"
