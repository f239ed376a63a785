"""The store: the only package that speaks SQL (sessions, ORM, migrations, the apply path)."""
