"""The MCP server for AI agents (``paperfeed mcp``): search, paper lookups, the daily feed and
trending as public tools; a user's library, recommendations and subscriptions for a caller
with an API token; papers as Markdown resources. Built on the official ``mcp`` SDK
(``pip install 'paperfeed[mcp]'``) over the same :class:`~paperfeed.services.Services` as the
web app."""
