"""Delivery by e-mail: the outbox every letter, certificate and report is queued in, and sending it by SMTP."""
