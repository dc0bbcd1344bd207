"""Services: the work around the store (audit trail, secrets, export, reminders, consults, drafting, mail)."""
