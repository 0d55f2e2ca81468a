"""The phone: installable app shell, service worker, scanner and handover screens over the API."""
