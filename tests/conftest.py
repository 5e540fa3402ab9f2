pytest_plugins = ["tests.fakeforge.fixtures"]
