"""Profile a new LLM through LiteLLM: answer the pool's profiling prompts, grade, return {prompt id: score}.

A pool marks some representative prompts as *profiling prompts*, each with a grading mode:

- ``exact``: graded by rule against the stored ``answer`` (a choice letter or a number;
  :func:`~routellm_plugins.pool.profiles.exact_match`);
- ``reference``: a judge model compares the answer with a stored ``reference`` answer (a solution
  that the source data graded correct) and says correct (1) or not (0);
- ``scale``: a judge model rates the answer on a fixed 1-10 scale; quality = (rating - 1) / 9,
  the scale of the arena_bench_v1 scores stored for the other models.

The run is resumable: every finished prompt is appended to a JSONL progress file (``id``,
``response``, ``score``; failed ones carry ``error``, the exception's type only) and skipped
when the run starts again. Calls go through ``litellm.acompletion`` with bounded concurrency and
retries with exponential back-off. :func:`estimate` prices a run before it spends anything.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Sequence

from routellm_plugins.errors import ConfigError, DataFormatError, describe_error
from routellm_plugins.pool.profiles import exact_match

#: Grading modes: by rule against a gold answer; by the judge against a correct reference answer; by the
#: judge checking correctness on its own (maths prompts without a gold answer); by the judge on a 1-10 scale.
EXACT, REFERENCE, CHECK, SCALE = "exact", "reference", "check", "scale"
GRADINGS = (EXACT, REFERENCE, CHECK, SCALE)
#: Modes whose judge verdict is correct (1) or not (0).
BINARY = (REFERENCE, CHECK)
#: Instruction appended to exact-answer prompts whose answer is a number, and to judge-checked maths prompts.
NUMBER_SUFFIX = "\n\nWork it out, then give the final answer as a plain number on the last line."
#: Output tokens a typical answer takes, for the estimate (by grading mode; letter answers are short).
TYPICAL_OUTPUT = {"letter": 5, EXACT: 220, REFERENCE: 260, CHECK: 220, SCALE: 450}
#: Output cap per call, by grading mode.
MAX_TOKENS = {EXACT: 600, REFERENCE: 900, CHECK: 600, SCALE: 1200}
JUDGE_MAX_TOKENS = 16
#: Rough seconds of latency per call plus per output token, for the time estimate.
CALL_SECONDS, SECONDS_PER_TOKEN = 1.5, 1 / 60

JUDGE_REFERENCE = """You are grading an answer to a programming task against a reference solution that is known to be correct.

[Task]
{prompt}

[Reference solution]
{reference}

[Answer to grade]
{response}

Does the answer solve the task correctly (it may differ from the reference in style or approach)? Reply with [[1]] if it does and [[0]] if it does not, and nothing else."""

JUDGE_CHECK = """You are checking an answer to a maths word problem. Work out the correct result for yourself, without writing it down, and compare it with the answer's final result.

[Problem]
{prompt}

[Answer to check]
{response}

Is the answer's final result correct? Reply with [[1]] if it is and [[0]] if it is not, and nothing else."""

JUDGE_SCALE = """You are rating how well an AI assistant answered a user's request. Judge helpfulness, correctness, depth and clarity; be strict, and do not reward length for its own sake.

[Request]
{prompt}

[Answer]
{response}

Rate the answer from 1 (useless or wrong) to 10 (excellent). Reply with the rating in double brackets, e.g. [[7]], and nothing else."""

_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


@dataclass(frozen=True)
class ProfileItem:
    """One profiling prompt: its id, text and how its answer is graded."""

    id: str
    group: str
    prompt: str
    grading: str
    answer: str | None = None
    reference: str | None = None

    @property
    def is_letter(self) -> bool:
        return self.grading == EXACT and bool(self.answer) and re.fullmatch(r"[A-Ja-j]", str(self.answer).strip()) is not None


def profile_items(records: Sequence[Mapping[str, Any]]) -> list[ProfileItem]:
    """The profiling prompts among representative prompt records (those with a ``grading`` mode)."""
    out = []
    for r in records:
        mode = r.get("grading")
        if not mode:
            continue
        if mode not in GRADINGS:
            raise DataFormatError(f"prompt {r.get('id')!r} has unknown grading {mode!r}; known: {', '.join(GRADINGS)}")
        if mode == EXACT and not r.get("answer"):
            raise DataFormatError(f"prompt {r.get('id')!r} is graded by exact match but has no answer")
        if mode == REFERENCE and not r.get("reference"):
            raise DataFormatError(f"prompt {r.get('id')!r} is graded against a reference but has none")
        out.append(ProfileItem(str(r["id"]), str(r.get("group", "")), str(r["prompt"]), mode, r.get("answer"), r.get("reference")))
    return out


def answer_messages(item: ProfileItem) -> list[dict[str, str]]:
    """The chat messages sent to the profiled model for ``item``."""
    text = item.prompt
    if item.grading == CHECK or (item.grading == EXACT and not item.is_letter):
        text += NUMBER_SUFFIX
    return [{"role": "user", "content": text}]


def judge_messages(item: ProfileItem, response: str) -> list[dict[str, str]]:
    """The chat messages sent to the judge for ``item``'s ``response``."""
    if item.grading == REFERENCE:
        text = JUDGE_REFERENCE.format(prompt=item.prompt, reference=item.reference, response=response)
    elif item.grading == CHECK:
        text = JUDGE_CHECK.format(prompt=item.prompt, response=response)
    elif item.grading == SCALE:
        text = JUDGE_SCALE.format(prompt=item.prompt, response=response)
    else:
        raise ConfigError(f"prompt {item.id!r} is graded by rule, not by a judge")
    return [{"role": "user", "content": text}]


def parse_rating(text: str, grading: str) -> float | None:
    """The judge's verdict as a quality in [0, 1] (None when it gave no valid ``[[n]]``)."""
    found = _RATING.findall(text or "")
    if not found:
        return None
    value = float(found[-1])
    if grading in BINARY:
        return value if value in (0.0, 1.0) else None
    if 1.0 <= value <= 10.0:
        return (value - 1.0) / 9.0
    return None


def grade_exact(item: ProfileItem, response: str) -> float:
    """Rule grading of an exact-answer prompt."""
    return exact_match(response, str(item.answer))


# ---- estimate --------------------------------------------------------------------------------
def approx_tokens(text: str) -> int:
    """A tokenizer-free token count (about 4 characters per token), good enough for a price estimate."""
    return max(1, math.ceil(len(text) / 4))


def _price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm

        inp, out = litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return float(inp) + float(out)
    except Exception:  # noqa: BLE001 - unknown model or no litellm: the price is unknown, not an error
        return None


@dataclass
class Estimate:
    """Calls, tokens, dollars and time a profiling run is expected to take."""

    model: str
    judge: str
    calls: int
    judge_calls: int
    input_tokens: int
    output_tokens: int
    judge_input_tokens: int
    judge_output_tokens: int
    cost_usd: float | None
    judge_cost_usd: float | None
    seconds: float

    @property
    def total_usd(self) -> float | None:
        if self.cost_usd is None or (self.judge_calls and self.judge_cost_usd is None):
            return None
        return self.cost_usd + (self.judge_cost_usd or 0.0)

    def text(self) -> str:
        """A few human-readable lines."""
        def usd(v: float | None) -> str:
            return "unknown (no LiteLLM price)" if v is None else f"${v:.2f}"

        return "\n".join([
            f"profiling {self.model}: {self.calls} prompts, ~{self.input_tokens:,} input + ~{self.output_tokens:,} output tokens, {usd(self.cost_usd)}",
            f"judge {self.judge}: {self.judge_calls} calls, ~{self.judge_input_tokens:,} input + ~{self.judge_output_tokens:,} output tokens, {usd(self.judge_cost_usd)}",
            f"estimated total {usd(self.total_usd)}, about {self.seconds / 60:.0f} min (rough: output lengths and latency are guesses)",
        ])


def estimate(items: Sequence[ProfileItem], model: str, judge: str, *, concurrency: int = 8) -> Estimate:
    """Expected calls, tokens, dollars (LiteLLM prices) and wall time for profiling ``items``."""
    inp = out = j_in = j_out = 0
    latency = 0.0
    judged = 0
    for it in items:
        i_tok = sum(approx_tokens(m["content"]) for m in answer_messages(it))
        o_tok = TYPICAL_OUTPUT["letter"] if it.is_letter else TYPICAL_OUTPUT[it.grading]
        inp, out = inp + i_tok, out + o_tok
        latency += CALL_SECONDS + o_tok * SECONDS_PER_TOKEN
        if it.grading != EXACT:
            judged += 1
            j_in += sum(approx_tokens(m["content"]) for m in judge_messages(it, "x" * (4 * o_tok)))
            j_out += 8
            latency += CALL_SECONDS + 8 * SECONDS_PER_TOKEN
    return Estimate(model, judge, len(items), judged, inp, out, j_in, j_out, _price(model, inp, out),
                    _price(judge, j_in, j_out) if judged else 0.0, latency / max(1, concurrency))


# ---- the run ---------------------------------------------------------------------------------
Completion = Callable[..., Awaitable[Any]]


def _text_of(response: Any) -> str:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, KeyError, TypeError):
        content = None
    return content if isinstance(content, str) else ""


def read_progress(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Finished prompts in a progress file: {id: record} for records with a score (later lines win)."""
    p = Path(path)
    done: dict[str, dict[str, Any]] = {}
    if not p.is_file():
        return done
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if n > 1 and not line.endswith("\n"):
                    continue  # a line cut short by an interrupted run
                raise DataFormatError(f"progress file {str(p)!r} line {n} is not JSON") from None
            if isinstance(rec, dict) and rec.get("score") is not None and "id" in rec:
                done[str(rec["id"])] = rec
    return done


@dataclass
class RunResult:
    """Scores of a finished (or partly finished) run, and how many prompts failed."""

    scores: dict[str, float]
    failed: int
    ungradable: int


async def _call(completion: Completion, retries: int, backoff_s: float, **kwargs: Any) -> Any:
    for attempt in range(retries + 1):
        try:
            return await completion(**kwargs)
        except Exception:
            if attempt == retries:
                raise
            await asyncio.sleep(backoff_s * (2 ** attempt))
    raise AssertionError("unreachable")


async def run_profile(
    items: Sequence[ProfileItem],
    model: str,
    progress_path: str | os.PathLike[str],
    *,
    judge: str,
    concurrency: int = 8,
    retries: int = 3,
    backoff_s: float = 2.0,
    timeout_s: float = 120.0,
    completion: Completion | None = None,
    completion_kwargs: Mapping[str, Any] | None = None,
    judge_kwargs: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> RunResult:
    """Answer and grade every item not yet in ``progress_path``; append each result there; return all scores.

    ``completion`` defaults to ``litellm.acompletion``; ``completion_kwargs`` / ``judge_kwargs``
    are passed on to the model's / the judge's calls (``api_base``, ``mock_response``, ...).
    """
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"retries must be an integer >= 0, got {retries!r}")
    if completion is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        completion = litellm.acompletion
    path = Path(progress_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = read_progress(path)
    todo = [it for it in items if it.id not in done]
    sem = asyncio.Semaphore(concurrency)
    lock = asyncio.Lock()
    counts = {"failed": 0, "ungradable": 0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=f"profiling {model}", unit="prompt")

    async def one(it: ProfileItem, fh) -> None:
        rec: dict[str, Any] = {"id": it.id, "grading": it.grading}
        async with sem:
            try:
                resp = await _call(completion, retries, backoff_s, model=model, messages=answer_messages(it), temperature=0,
                                   max_tokens=MAX_TOKENS[it.grading], timeout=timeout_s, **dict(completion_kwargs or {}))
                text = _text_of(resp)
                rec["response"] = text
                if it.grading == EXACT:
                    rec["score"] = grade_exact(it, text)
                else:
                    verdict = await _call(completion, retries, backoff_s, model=judge, messages=judge_messages(it, text), temperature=0,
                                          max_tokens=JUDGE_MAX_TOKENS, timeout=timeout_s, **dict(judge_kwargs or {}))
                    score = parse_rating(_text_of(verdict), it.grading)
                    rec["score"] = score
                    if score is None:
                        rec["error"] = "judge gave no valid [[rating]]"
                        counts["ungradable"] += 1
            except Exception as exc:  # noqa: BLE001 - one failed prompt must not stop the run; retried on resume
                rec["score"] = None
                rec["error"] = describe_error(exc)
                counts["failed"] += 1
        async with lock:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            if rec.get("score") is not None:
                done[it.id] = rec
            if bar is not None:
                bar.update(1)

    try:
        with path.open("a", encoding="utf-8") as fh:
            await asyncio.gather(*(one(it, fh) for it in todo))
    finally:
        if bar is not None:
            bar.close()
    wanted = {it.id for it in items}
    scores = {pid: float(rec["score"]) for pid, rec in done.items() if pid in wanted}
    return RunResult(scores, counts["failed"], counts["ungradable"])


def profile_model(items: Sequence[ProfileItem], model: str, progress_path: str | os.PathLike[str], **kw: Any) -> RunResult:
    """Synchronous :func:`run_profile` (for the CLI)."""
    return asyncio.run(run_profile(items, model, progress_path, **kw))
