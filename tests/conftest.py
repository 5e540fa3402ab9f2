pytest_plugins = ["tests.fakeforge.fixtures", "tests.forge_subjects", "tests.require_all"]
