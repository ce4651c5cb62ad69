"""The backend contract suite: :class:`tests.contract.suite.BackendContract`."""

import pytest

# The suite is imported by test modules, not collected: ask pytest to rewrite its asserts anyway
# so a failing contract check shows the values it compared. (Imported as ``tests.contract`` or,
# through pytest's rootdir on sys.path, as ``contract``.)
pytest.register_assert_rewrite(
    *(f"{__name__}.{name}" for name in ("suite", "busy", "kit", "past_meetings", "mail"))
)
