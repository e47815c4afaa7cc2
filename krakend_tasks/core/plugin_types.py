"""The kinds of KrakenD plugin, and everything each one implies: three that KrakenD CE 2.x loads,
and middleware, which only KrakenD Enterprise looks up."""

from __future__ import annotations

from enum import StrEnum


class PluginType(StrEnum):
    """server, client, modifier or middleware: a string (so "server" == PluginType.SERVER) that also
    knows its registerer symbol, its extra_config namespace, its loader flag and its description."""

    registerer: str  # the exported symbol KrakenD looks up in the .so
    namespace: str  # where krakend.json names it
    flag: str  # `krakend test-plugin` flag (middleware: krakend-tasks' loader only)
    description: str
    enterprise: bool  # only KrakenD Enterprise looks it up

    def __new__(cls, value: str, registerer: str, namespace: str, flag: str, description: str,
                enterprise: bool = False) -> PluginType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.registerer, member.namespace, member.flag, member.description = registerer, namespace, flag, description
        member.enterprise = enterprise
        return member

    SERVER = ("server", "HandlerRegisterer", "plugin/http-server", "-s", "HTTP server")
    CLIENT = ("client", "ClientRegisterer", "plugin/http-client", "-c", "HTTP client")
    MODIFIER = ("modifier", "ModifierRegisterer", "plugin/req-resp-modifier", "-m", "request modifier")
    MIDDLEWARE = ("middleware", "MiddlewareRegisterer", "plugin/middleware", "-M", "middleware (KrakenD Enterprise)",
                  True)

    @property
    def label(self) -> str:
        """How test-plugin names the check: SERVER, CLIENT, MODIFIER."""
        return self.value.upper()


NAMES = tuple(t.value for t in PluginType)  # "server", "client", "modifier", "middleware"
ENTERPRISE_ONLY = tuple(t.registerer for t in PluginType if t.enterprise)  # only KrakenD Enterprise looks them up
ENTERPRISE_VERDICT = ("exports {symbols} only: a KrakenD Enterprise plugin type, which KrakenD CE never looks up "
                      "(its test-plugin has no flag for it)")
NEVER_LOOKED_UP = "KrakenD CE never looks up {symbol}: only KrakenD Enterprise loads a {kind} plugin"
TEST_ORDER = (PluginType.SERVER, PluginType.MODIFIER, PluginType.CLIENT)  # the order test-plugin checks a file in


def enterprise_only(registerers: tuple[str, ...] | list[str]) -> list[str]:
    """The Enterprise-only registerers among `registerers`, when none of a type KrakenD CE loads is there."""
    types = [t for t in PluginType if t.registerer in registerers]
    return [] if any(not t.enterprise for t in types) else [t.registerer for t in types]


def plugin_type(name: str) -> PluginType:
    """The type named `name`; a ConfigError lists them otherwise."""
    from krakend_tasks.errors import ConfigError

    for member in PluginType:
        if member.value == name:
            return member
    raise ConfigError(f"unknown plugin type {name!r}", hint=f"use one of: {', '.join(NAMES)}")
