"""litellm_adapter: routes each call through routellm_plugins (see its issue)."""
