"""The API-coverage count the README quotes (tests/ports/api_coverage.py): the list has the names
of issue 11 section 2, and every name counted as covered is a real callable, not a stub."""
import types

import pytest

import api_coverage

# names per group, counted by hand from issue 11 section 2
GROUP_SIZES = {"tensor ops": 60, "dtypes": 4, "functions": 12, "bitwise": 6, "nn.functional": 28,
               "random": 5, "modules": 11, "optim": 5, "utils.data": 9, "hooks": 5, "accelerator": 3}


def test_list_has_the_issue_names():
    names = api_coverage.entries()
    sizes = {}
    for group, _, _ in names:
        sizes[group] = sizes.get(group, 0) + 1
    assert sizes == GROUP_SIZES
    assert len(names) == sum(GROUP_SIZES.values()) == 148
    per_group = [(g, n) for g, _, n in names]
    assert len(set(per_group)) == len(per_group), "a name is listed twice in one group"


def test_covered_names_are_real_callables():
    import tinygrad_edu as tg
    covered, missing = api_coverage.coverage()
    assert len(covered) + len(missing) == 148
    for group, name, objs in covered:
        assert objs, name
        for obj in objs:
            if group == "dtypes":
                assert tg.zeros(2, dtype=obj).dtype == obj, name
            elif isinstance(obj, types.ModuleType):
                assert callable(getattr(obj, "is_available", None)), f"{name}: module without is_available()"
            else:
                assert callable(obj), f"{name} is not callable"
                assert not api_coverage.is_stub(obj), f"{name} is a NotImplementedError stub"


def test_stub_detector():
    def stub(x):
        """Not there yet."""
        raise NotImplementedError("later")

    def real(x):
        if x is None:
            raise NotImplementedError("None")
        return x

    assert api_coverage.is_stub(stub)
    assert not api_coverage.is_stub(real)


def test_main_prints_the_count(capsys):
    api_coverage.main()
    first = capsys.readouterr().out.splitlines()[0]
    covered, missing = api_coverage.coverage()
    assert first == f"covered {len(covered)} of 148"


def test_a_removed_name_counts_as_missing(monkeypatch):
    import tinygrad_edu as tg
    if not hasattr(tg, "Generator"):
        pytest.skip("tinygrad_edu.Generator not there yet")
    monkeypatch.delattr(tg, "Generator")
    _, missing = api_coverage.coverage()
    assert ("random", "Generator") in [(g, n) for g, n, _ in missing]
