"""Property tests over the core API: arbitrary input gives a result or a documented error, never a crash.

Documented errors are the subclasses of ``routellm_plugins.errors.RouteLLMError``. Also checks that a
controller shared by threads and asyncio tasks gives each caller the same decision as a lone caller.
"""

from __future__ import annotations

import asyncio
import math
import threading
import unicodedata
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routellm_plugins import (
    STRONG,
    WEAK,
    Decision,
    InvalidPromptError,
    InvalidThresholdError,
    RouteLLMError,
    RoutingController,
    UnknownRouterError,
    load_router,
    parse_model_string,
)
from routellm_plugins.registry import ROUTERS
from routellm_plugins.validation import MAX_PROMPT_CHARS_HEAD, MAX_PROMPT_CHARS_TAIL, check_threshold, clean_prompt, clean_prompts

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Every code point, lone surrogates and control characters included.
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
control_char = st.characters(min_codepoint=0, max_codepoint=0x1F)
surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
huge_text = st.builds(lambda chunk, n: chunk * n, st.text(any_char, min_size=1, max_size=4), st.integers(5_000, 120_000))
texts = st.one_of(
    st.text(),
    st.text(any_char),
    st.text(st.one_of(control_char, surrogate, st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2028\u3000"))),
    # zero-width and other invisible characters, alone or around one visible letter
    st.text(st.sampled_from("\u200b\u200c\u200d\u2060\ufeff\u00ad\u3164\u2800\x00\u202e"), min_size=1),
    st.builds(lambda a, b: a + "x" + b, st.text(st.sampled_from("\u200b\x00\ufeff"), max_size=3), st.text(st.sampled_from("\u200b\x00"), max_size=3)),
    huge_text,
)
non_str = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(10**5000),  # its repr() raises: the error message must not
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(),
    st.builds(bytearray, st.binary(max_size=8)),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    st.tuples(st.text(max_size=4)),
    st.just(object()),
)
anything = st.one_of(texts, non_str, st.lists(st.one_of(texts, non_str), max_size=4))
thresholds = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0.0, 1.0),
    st.integers(),
    st.just(10**400),
    st.text(max_size=8),
    st.sampled_from(["0.5", "nan", "inf", "-0", "1e400", Decimal("0.3"), Decimal("NaN"), Fraction(1, 3), np.float32(0.7), np.int64(1)]),
    st.none(),
    st.booleans(),
)


#: What renders as nothing: whitespace, separators, control/format characters (zero-width spaces, NUL, BOM),
#: lone surrogates, and the blank letters U+115F, U+1160, U+3164, U+FFA0, U+2800.
_BLANK_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cs"}
_BLANK_CHARS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def _scorable(value: object) -> bool:
    """Text with at least one visible character in what the encoder sees (the head and tail of a long prompt)."""
    if not isinstance(value, str):
        return False
    if len(value) > MAX_PROMPT_CHARS_HEAD + MAX_PROMPT_CHARS_TAIL:
        value = value[:MAX_PROMPT_CHARS_HEAD] + value[-MAX_PROMPT_CHARS_TAIL:]
    return any(not (c.isspace() or c in _BLANK_CHARS or unicodedata.category(c) in _BLANK_CATEGORIES) for c in value)


@pytest.fixture(scope="module")
def mf():
    return load_router("mf")


@pytest.fixture(scope="module")
def mf_controller():
    return RoutingController("mf", strong_share=0.5)


# ---- validation ----------------------------------------------------------------------
@FAST
@given(anything)
def test_clean_prompt_returns_safe_text_or_refuses(value):
    try:
        out = clean_prompt(value)
    except InvalidPromptError as exc:
        assert not _scorable(value), f"refused scorable text: {exc}"
        assert str(exc)
        return
    assert _scorable(value)
    assert isinstance(out, str) and out.strip()
    out.encode("utf-8")  # no lone surrogate survives
    assert len(out) <= MAX_PROMPT_CHARS_HEAD + MAX_PROMPT_CHARS_TAIL + 3


@FAST
@given(st.one_of(st.lists(st.one_of(texts, non_str), max_size=6), st.tuples(texts, texts), non_str, texts))
def test_clean_prompts_keeps_order_or_names_the_bad_index(batch):
    try:
        out = clean_prompts(batch)
    except InvalidPromptError as exc:
        if isinstance(batch, (list, tuple)) and not isinstance(batch, str):
            bad = [i for i, p in enumerate(batch) if not _scorable(p)]
            assert bad and f"index {bad[0]}" in str(exc)
        return
    assert isinstance(batch, (list, tuple, dict))
    items = list(batch)
    assert len(out) == len(items) and all(_scorable(p) for p in items)
    assert [clean_prompt(p) for p in items] == out


@FAST
@given(thresholds)
def test_check_threshold_accepts_exactly_the_unit_interval(value):
    try:
        t = check_threshold(value)
    except InvalidThresholdError as exc:
        assert "threshold" in str(exc)
        ok = False
        try:
            f = float(value)  # type: ignore[arg-type]
            ok = not isinstance(value, bool) and 0.0 <= f <= 1.0
        except (TypeError, ValueError, OverflowError):
            pass
        assert not ok, f"refused a valid threshold {value!r}"
        return
    assert isinstance(t, float) and 0.0 <= t <= 1.0 and not isinstance(value, bool)


@FAST
@given(st.one_of(texts, non_str, st.builds(lambda n, t: f"router-{n}-{t}", st.sampled_from(sorted(ROUTERS) + ["nope", "MF"]),
                                            st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.from_regex(r"[0-9]{0,400}\.?[0-9]{1,5}(e-?[0-9]{1,4})?", fullmatch=True)))))
def test_parse_model_string_gives_a_known_router_or_a_clear_error(model):
    try:
        name, t = parse_model_string(model)
    except (UnknownRouterError, InvalidThresholdError) as exc:
        assert str(exc)
        return
    assert name in ROUTERS and 0.0 <= t <= 1.0
    assert isinstance(model, str) and model.strip().startswith(f"router-{name}-")


@given(st.sampled_from(sorted(ROUTERS)), st.floats(0.0, 1.0))
@FAST
def test_model_string_round_trips(name, t):
    assert parse_model_string(f"router-{name}-{t!r}") == (name, t)


# ---- routers -------------------------------------------------------------------------
def _valid_batch(batch: object) -> bool:
    """A batch is any non-text iterable (lists, tuples, a dict's keys) of scorable text."""
    if isinstance(batch, (str, bytes, bytearray)) or not hasattr(batch, "__iter__"):
        return False
    return all(_scorable(p) for p in batch)  # type: ignore[union-attr]


def _check_scores(router, batch):
    try:
        scores = router.score(batch)
    except RouteLLMError:
        assert not _valid_batch(batch)
        return
    assert _valid_batch(batch)
    assert scores.shape == (len(list(batch)),) and scores.dtype == np.float64
    assert np.all((scores >= 0.0) & (scores <= 1.0))


def _check_route(router, prompt, threshold):
    try:
        d = router.route(prompt, threshold=threshold)
    except InvalidThresholdError:
        assert threshold is not None and not (isinstance(threshold, float) and 0.0 <= threshold <= 1.0)
        return
    except InvalidPromptError:
        assert not _scorable(prompt)
        return
    assert _scorable(prompt) and isinstance(d, Decision)
    assert 0.0 <= d.score <= 1.0 and d.model in (STRONG, WEAK) and d.router == router.name
    assert (d.model == STRONG) == (d.score >= d.threshold)
    if threshold is not None:
        assert d.threshold == threshold


route_thresholds = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0, 1.0))


@FAST
@given(st.one_of(st.lists(st.one_of(texts, non_str), max_size=4), non_str, texts))
def test_random_router_scores_valid_batches_in_unit_interval(batch):
    _check_scores(load_router("random", seed=0), batch)


@FAST
@given(st.one_of(texts, non_str), route_thresholds)
def test_random_router_route_decides_or_refuses(prompt, threshold):
    _check_route(load_router("random", seed=0), prompt, threshold)


@SLOW
@given(batch=st.one_of(st.lists(st.one_of(texts, non_str), max_size=3), non_str))
def test_mf_scores_valid_batches_in_unit_interval(mf, batch):
    _check_scores(mf, batch)


@SLOW
@given(prompt=st.one_of(texts, non_str), threshold=route_thresholds)
def test_mf_route_decides_or_refuses(mf, prompt, threshold):
    _check_route(mf, prompt, threshold)


# ---- controller ----------------------------------------------------------------------
@SLOW
@given(text=anything, session=st.one_of(st.none(), st.text(max_size=6)))
def test_controller_decide_never_raises(mf_controller, text, session):
    d = mf_controller.decide(text, session_id=session)
    assert isinstance(d, Decision) and d.model in mf_controller.keys
    if _scorable(text):
        assert not d.fallback and 0.0 <= d.score <= 1.0
    else:
        assert d.fallback and d.model == STRONG and d.score is None
        assert d.reason and "invalid routing text" in d.reason


@pytest.fixture(scope="module")
def sticky_controller():
    return RoutingController(load_router("random", seed=0), threshold=0.5, sticky_sessions="escalate", max_sessions=64)


@FAST
@given(text=anything, session=st.one_of(st.none(), anything, st.builds(lambda n: "s" * n, st.integers(0, 300))))
def test_sticky_controller_never_raises_for_any_session_id(sticky_controller, text, session):
    d = sticky_controller.decide(text, session_id=session)
    assert isinstance(d, Decision) and d.model in (STRONG, WEAK)
    if session is not None and not isinstance(session, str):
        assert "session_id ignored" in d.reason and not d.sticky
    assert len(sticky_controller.sessions) <= 64


@FAST
@given(text=anything)
def test_random_controller_with_weak_fallback_never_raises(text):
    ctl = RoutingController(load_router("random", seed=0), threshold=0.0, fallback=WEAK)
    d = ctl.decide(text)
    assert d.model == (STRONG if _scorable(text) else WEAK)
    assert d.fallback is (not _scorable(text))


# ---- concurrency ---------------------------------------------------------------------
PROMPTS = [f"Case {i}: " + ["what is 2+2?", "Prove that there are infinitely many primes of the form 4k+3.",
                              "Say hi.", "Derive the closed form of sum_{k=1}^{n} k^3 and prove it by induction.",
                              "Translate 'cat' into French.", "Explain the CAP theorem with a worked example."][i % 6]
           for i in range(96)]


def _same(a: Decision, b: Decision) -> bool:
    if a.fallback or b.fallback or abs(a.score - b.score) > 1e-5:
        return False
    near_cut = abs(a.score - a.threshold) < 1e-5
    return a.model == b.model or near_cut


def test_shared_controller_gives_each_thread_and_task_its_own_decision():
    from routellm_plugins.embedding import HFEncoder, get_embedder

    # The shared controller embeds afresh on every call (no cache), so the threads really race.
    shared = RoutingController("mf", strong_share=0.5, embedder=HFEncoder(cache_size=0))
    reference = RoutingController("mf", strong_share=0.5, embedder=get_embedder(backend="torch"))  # same backend as `shared`
    expected = {p: reference.decide(p) for p in PROMPTS}
    assert not any(d.fallback for d in expected.values())
    assert {d.model for d in expected.values()} == {STRONG, WEAK}

    got: dict[str, list[Decision]] = {p: [] for p in PROMPTS}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(k: int) -> None:
        try:
            start.wait()
            for p in PROMPTS[k::8] + PROMPTS[(k + 3) % 8::8]:
                d = shared.decide(p)
                with lock:
                    got[p].append(d)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert all(len(v) == 2 for v in got.values())
    assert all(_same(expected[p], d) for p, ds in got.items() for d in ds)

    async def many() -> list[tuple[str, Decision]]:
        chosen = PROMPTS[-50:]

        async def one(p: str) -> tuple[str, Decision]:
            return p, await shared.adecide(p)

        return await asyncio.gather(*(one(p) for p in chosen))

    results = asyncio.run(many())
    assert len(results) == 50 and len({p for p, _ in results}) == 50
    assert all(_same(expected[p], d) for p, d in results)
