"""A config's LLM class path cannot run code planted in the working directory (issue 15, item 8)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

from routellm_plugins import ConfigError
from llamaindex_adapter import RouteLLM
from llamaindex_adapter.config import import_llm_class

MOCK = "llama_index.core.llms.MockLLM"
PAYLOAD = "open({canary!r}, 'w').write('ran')\nfrom llama_index.core.llms import MockLLM as PlantedLLM\n"


@pytest.fixture()
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory (also first on sys.path, as with ``python -m``) holding modules that leave a canary file if run."""
    work = tmp_path / "work"
    work.mkdir()
    canary = tmp_path / "canary.txt"
    code = PAYLOAD.format(canary=str(canary))
    (work / "evil_llm.py").write_text(code, encoding="utf-8")
    (work / "evilpkg").mkdir()
    (work / "evilpkg" / "__init__.py").write_text(code, encoding="utf-8")
    (work / "evilpkg" / "llms.py").write_text(code, encoding="utf-8")
    (work / "llama_index").mkdir()  # a portion of the llama_index namespace package, planted
    (work / "llama_index" / "planted.py").write_text(code, encoding="utf-8")
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    before = set(sys.modules)
    yield canary
    for name in set(sys.modules) - before:  # nothing should have been imported, but never leave a planted module behind
        if name.startswith(("evil", "llama_index.planted")):
            del sys.modules[name]


@pytest.mark.parametrize("path", ["evil_llm.PlantedLLM", "evil_llm:PlantedLLM", "evilpkg.llms.PlantedLLM", "llama_index.planted.PlantedLLM"])
def test_a_module_planted_in_the_working_directory_is_refused_and_never_runs(planted: Path, path: str) -> None:
    config = {"router": "random", "threshold": 0.5, "strong": {"class": path}, "weak": {"class": MOCK}}
    with pytest.raises(ConfigError, match="working directory") as info:
        RouteLLM.from_config(config)
    assert "'strong'" in str(info.value)
    assert not planted.exists(), "the planted module ran"
    assert not any(name.startswith("evil") or name == "llama_index.planted" for name in sys.modules)


def test_installed_classes_still_load_from_that_working_directory(planted: Path) -> None:
    llm = RouteLLM.from_config({"router": "random", "threshold": 0.5, "strong": {"class": MOCK}, "weak": {"class": "llama_index.core.llms:MockLLM"}})
    assert type(llm.models["strong"]).__name__ == "MockLLM"
    assert import_llm_class("llama_index.core.llms.mock.MockFunctionCallingLLM").__name__ == "MockFunctionCallingLLM"
    assert not planted.exists()


def test_a_module_the_application_already_imported_is_used_as_is(planted: Path) -> None:
    module = type(sys)("app_llms")  # the application's own module, already imported (its code already ran)
    from llama_index.core.llms import MockLLM

    module.AppLLM = MockLLM
    sys.modules["app_llms"] = module
    try:
        assert import_llm_class("app_llms.AppLLM") is MockLLM
    finally:
        del sys.modules["app_llms"]


@pytest.mark.parametrize(
    "path",
    [
        "os.system('touch x')",
        "llama_index..core.MockLLM",
        "../evil_llm.PlantedLLM",
        "llama_index/core/llms/MockLLM",
        "MockLLM",
        "llama-index.core.MockLLM",
        "a." * 150 + "B",
        " ",
        42,
    ],
)
def test_a_class_path_must_be_dotted_identifiers(path: object) -> None:
    with pytest.raises(ConfigError, match="class path") as info:
        import_llm_class(path)
    assert len(str(info.value)) < 400  # the offending value is shown truncated


def test_a_class_is_checked_to_be_an_llm_before_it_is_instantiated(planted: Path) -> None:
    created = []

    class NotAnLLM:
        def __init__(self, **kwargs: object) -> None:
            created.append(kwargs)

    module = type(sys)("app_things")
    module.NotAnLLM = NotAnLLM
    sys.modules["app_things"] = module
    try:
        with pytest.raises(ConfigError, match="not a LlamaIndex LLM class"):
            RouteLLM.from_config({"router": "random", "threshold": 0.5, "strong": {"class": "app_things.NotAnLLM"}, "weak": {"class": MOCK}})
    finally:
        del sys.modules["app_things"]
    assert created == []


def test_a_missing_module_is_named(planted: Path) -> None:
    with pytest.raises(ConfigError, match="cannot find module 'no_such_package'"):
        import_llm_class("no_such_package.sub.LLM")


def test_an_installed_module_not_yet_imported_is_loaded_from_its_checked_file(planted: Path) -> None:
    from llamaindex_adapter.config import _load_module

    candidates = ["json.tool", "xml.dom.minidom", "email.mime.text", "wsgiref.simple_server"]
    name = next(n for n in candidates if n not in sys.modules)
    module = _load_module(name)
    assert sys.modules[name] is module and module.__file__ and not module.__file__.startswith(str(Path.cwd()))
    parent, _, child = name.rpartition(".")
    assert getattr(sys.modules[parent], child) is module  # bound on its package, as an import would
    with pytest.raises(ConfigError, match="has no attribute 'NoSuchLLM'"):
        import_llm_class(f"{name}.NoSuchLLM")
