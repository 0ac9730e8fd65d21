"""Fixtures of the GPU tests: ``fake_gpu`` installs the fake 'cuda' device of ``fake_cupy`` (NumPy
inside, CuPy's refusals outside) for one test and yields the fake ``cupy`` module."""
import pytest

import fake_cupy


@pytest.fixture
def fake_gpu():
    with fake_cupy.installed() as module:
        yield module
