"""pyember's package path ``ember._internal``: only ``exceptions`` lives here."""
