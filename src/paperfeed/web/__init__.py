"""The web app: pages, the JSON API under ``/api``, feeds."""
