"""Tests against the peer libraries (see conftest.py): a package, so that its conftest is
``peers.conftest`` and never shadows tests/conftest.py for ``from conftest import ...``."""
