"""Facts about Centra that both the merchant-file model (config/) and the client side (centra/,
resources/, sandbox/) need: the ISO country list, the permission catalogue, plugin kinds. Data only:
it imports nothing else of the tool, so every layer can depend on it without a loop."""
