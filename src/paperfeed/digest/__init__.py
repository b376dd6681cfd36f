"""Email digests: subscriptions' mails rendered into an outbox, then delivered over SMTP."""
