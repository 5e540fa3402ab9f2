"""A stateful local forge for tests: GitHub REST, GitLab v4 and git smart HTTP over bare repos.

See docs/TESTING.md. `FakeForge` is the handle; the `fake_forge` pytest fixture lives in
tests.fakeforge.fixtures.
"""

from tests.fakeforge.forge import FakeForge
from tests.fakeforge.records import ChangeRequestRecord

__all__ = ["ChangeRequestRecord", "FakeForge"]
