"""The real-WordPress fixtures, shared by every module here (defined in test_real_wordpress.py)."""

from tests.integration_wp.test_real_wordpress import outbound, real_wp, real_wp_settings

__all__ = ["outbound", "real_wp", "real_wp_settings"]
