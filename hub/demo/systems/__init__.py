"""The four simulated source systems, each a real server, file or database."""

__all__: list[str] = []
