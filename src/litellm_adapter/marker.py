"""The ``routellm/`` provider: what a route's marker entry (``litellm_params.model: routellm/router``) stands on.

LiteLLM refuses a ``model_list`` entry whose provider it does not know, so a route entry names
this provider, registered in ``config.yaml`` next to the routing callback::

    litellm_settings:
      callbacks: ["litellm_adapter.proxy.callback"]
      custom_provider_map: [{provider: routellm, custom_handler: litellm_adapter.marker.handler}]

The marker is never called: the routing callback (proxy) or strategy (SDK) sends each request
to a model group the route names. If a call reaches it anyway, routing is not installed, and the
call fails with an error that says so (never a silent answer from a wrong model).
"""

from __future__ import annotations

from typing import Any, NoReturn

from litellm.llms.custom_llm import CustomLLM

from routellm_plugins import ConfigError

#: ``provider`` of the marker entries (``litellm_params.model: routellm/<label>``).
PROVIDER = "routellm"


class RouteNotInstalledError(ConfigError):
    """A request reached a route's marker entry: the routing callback or strategy is not installed."""


def _refuse(model: Any) -> NoReturn:
    raise RouteNotInstalledError(
        f"model {str(model)[:80]!r} is a routellm route marker and is never called itself; routing is not installed: "
        "list litellm_adapter.proxy.callback in litellm_settings.callbacks (proxy) or call install_routing(router) (SDK)"
    )


class RouteMarker(CustomLLM):
    """Refuses every call: a route's marker entry only names the route."""

    def completion(self, model: str, *args: Any, **kwargs: Any) -> Any:
        _refuse(model)

    async def acompletion(self, model: str, *args: Any, **kwargs: Any) -> Any:
        _refuse(model)

    def streaming(self, model: str, *args: Any, **kwargs: Any) -> Any:
        _refuse(model)

    async def astreaming(self, model: str, *args: Any, **kwargs: Any) -> Any:
        _refuse(model)


#: ``custom_handler: litellm_adapter.marker.handler`` in ``litellm_settings.custom_provider_map``.
handler = RouteMarker()


def register_provider() -> None:
    """Register the ``routellm`` provider with LiteLLM (once), so a ``model_list`` with marker entries loads in the SDK."""
    import litellm
    from litellm.utils import custom_llm_setup

    if not any(isinstance(item, dict) and item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler})
    custom_llm_setup()
