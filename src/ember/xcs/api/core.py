"""The seed's path ``ember.xcs.api.core``: ``XCSAPI`` (see ``ember.xcs.compat``)."""

from ember.xcs.compat import XCSAPI

__all__ = ["XCSAPI"]
