"""Outgoing mail, shared by every domain: the message, the transports (SMTP, Resend,
SendGrid, the dev mailbox) and the preferences every non-security mail is filtered through."""
