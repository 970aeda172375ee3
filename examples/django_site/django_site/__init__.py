"""The Django project of the wsgisession example (see ../manage.py)."""
