"""The operator API (/api/admin/…): the platform's models and prices, upstream servers, users
and organisations. Platform admins only; every change lands in the audit log."""
