"""The team's own chat model, reached through any OpenAI-compatible API.

Every failure becomes `ModelUnavailable` with a short reason, so the caller can fall back to
the extractive answer within its deadline. A circuit breaker stops a dead endpoint from adding
its timeout to every question.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Retry-After values above this are not waited for: the asker gets the quotes instead.
MAX_RETRY_AFTER_S = 10.0
SERVER_ERROR_PAUSE_S = 0.5
MAX_TRIES = 3


@dataclass(frozen=True)
class ModelConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 20.0
    max_tokens: int = 600
    temperature: float = 0.0


class ModelUnavailable(Exception):
    """The model gave no usable reply; `reason` is short enough to show people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, other: Usage) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out


class CircuitBreaker:
    """Closed → open after `failures` failures in a row → one trial after `cooldown_s`.

    While open, questions skip the model at once; the trial's outcome closes or reopens it.
    """

    def __init__(
        self,
        failures: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.cooldown_s:
                return "half-open"
            return "open"

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self._clock() - self._opened_at < self.cooldown_s:
                return False
            self._trial = True  # one question tries the model; the others keep skipping it
            return True

    def release(self) -> None:
        """A call ended without a verdict (its reader gave up): let the next one try."""
        with self._lock:
            self._trial = False

    def success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.info("the answer model responds again; using it")
            self._failed, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failed += 1
            if self._trial or self._failed >= self.failures:
                if self._opened_at is None or self._trial:
                    log.warning(
                        "the answer model failed %d time(s) in a row; skipping it for %.0f s",
                        self._failed,
                        self.cooldown_s,
                    )
                self._opened_at = self._clock()
            self._trial = False


@dataclass
class Stream:
    """Text pieces as the model writes them; `usage` is complete once iteration ends."""

    pieces: Iterator[str]
    usage: Usage = field(default_factory=Usage)

    def __iter__(self) -> Iterator[str]:
        return self.pieces


class ChatModel:
    def __init__(self, config: ModelConfig, breaker: CircuitBreaker | None = None) -> None:
        from openai import OpenAI

        self.config = config
        self.breaker = breaker or CircuitBreaker()
        # Retries are ours: they must fit the question's deadline and honour Retry-After.
        self._client = OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "not-needed",
            max_retries=0,
            timeout=config.timeout_s,
        )
        self._usage_supported = True

    @property
    def name(self) -> str:
        return self.config.model

    def stream(self, messages: list[dict[str, str]], deadline: float) -> Stream:
        """Starts a streamed reply. Raises ModelUnavailable, also while iterating."""
        if not self.breaker.allow():
            raise ModelUnavailable("the model is skipped for a while after repeated failures")
        try:
            response = self._create(messages, deadline, stream=True)
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except Exception as error:  # anything else the client raises is a failed call too
            self.breaker.failure()
            raise ModelUnavailable(f"the model call failed ({type(error).__name__})") from None
        result = Stream(iter(()))
        result.pieces = self._pieces(response, deadline, result.usage)
        return result

    def complete(
        self, messages: list[dict[str, str]], deadline: float, max_tokens: int | None = None
    ) -> tuple[str, Usage]:
        """One whole reply (used to rewrite follow-ups). Raises ModelUnavailable."""
        if not self.breaker.allow():
            raise ModelUnavailable("the model is skipped for a while after repeated failures")
        try:
            response = self._create(messages, deadline, stream=False, max_tokens=max_tokens)
            text = response.choices[0].message.content or ""
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except Exception as error:  # a reply without the expected shape
            self.breaker.failure()
            raise ModelUnavailable(f"unreadable reply: {type(error).__name__}") from None
        self.breaker.success()
        usage = response.usage
        return text, Usage(
            getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
        )

    def list_models(self) -> list[str]:
        """The model ids the endpoint serves (for `coe llm check`)."""
        return [m.id for m in self._client.with_options(max_retries=0).models.list()]

    # -- internals --------------------------------------------------------------------------

    def _create(
        self,
        messages: list[dict[str, str]],
        deadline: float,
        stream: bool,
        max_tokens: int | None = None,
    ) -> Any:
        import openai

        args: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": max_tokens or self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": stream,
        }
        if stream and self._usage_supported:
            args["stream_options"] = {"include_usage": True}
        for attempt in range(1, MAX_TRIES + 1):
            left = deadline - time.monotonic()
            if left <= 0.05:
                raise ModelUnavailable("no answer within the time limit")
            try:
                return self._client.chat.completions.create(**args, timeout=left)
            except openai.APITimeoutError:
                raise ModelUnavailable("no answer within the time limit") from None
            except openai.APIConnectionError as error:
                raise ModelUnavailable(f"cannot reach the model: {error}") from None
            except openai.RateLimitError as error:
                wait = _retry_after(error.response)
                if attempt == MAX_TRIES or wait is None or wait > min(MAX_RETRY_AFTER_S, left - 1):
                    raise ModelUnavailable("the model is rate limited") from None
                log.info("the model answered 429; retrying in %.1f s", wait)
                time.sleep(wait)
            except openai.BadRequestError as error:
                if "stream_options" in args and "stream_options" in str(error):
                    # Older servers refuse the usage option; token counts are then unknown.
                    self._usage_supported = False
                    args.pop("stream_options")
                    continue
                raise ModelUnavailable(
                    f"the model refused the request: {error.status_code}"
                ) from None
            except openai.APIStatusError as error:
                if error.status_code < 500 or attempt == MAX_TRIES:
                    raise ModelUnavailable(f"the model answered {error.status_code}") from None
                wait = _retry_after(error.response) or SERVER_ERROR_PAUSE_S
                if wait > left - 1:
                    raise ModelUnavailable(f"the model answered {error.status_code}") from None
                time.sleep(wait)
        raise ModelUnavailable("the model did not answer")

    def _pieces(self, response: Any, deadline: float, usage: Usage) -> Iterator[str]:
        finished = False
        # A read blocks for up to the whole budget; closing the response at the deadline
        # ends it, so a stream that stalls late cannot run past COE_LLM_TIMEOUT_S.
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), response.close)
        watchdog.daemon = True
        watchdog.start()
        try:
            for chunk in response:
                if time.monotonic() > deadline:
                    raise ModelUnavailable("no answer within the time limit")
                if getattr(chunk, "usage", None):
                    usage.tokens_in = chunk.usage.prompt_tokens or 0
                    usage.tokens_out = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    text = getattr(choice.delta, "content", None)
                    if text:
                        yield text
                    if choice.finish_reason:
                        finished = True
        except ModelUnavailable:
            self.breaker.failure()
            raise
        except GeneratorExit:
            self.breaker.release()
            response.close()
            raise
        except Exception as error:  # a stall, a reset, a line that is not JSON
            self.breaker.failure()
            name = type(error).__name__
            if "Timeout" in name or time.monotonic() >= deadline:
                raise ModelUnavailable("no answer within the time limit") from None
            raise ModelUnavailable(f"the reply stream broke ({name})") from None
        finally:
            watchdog.cancel()
        if time.monotonic() > deadline and not finished:
            self.breaker.failure()
            raise ModelUnavailable("no answer within the time limit")
        if not finished:
            self.breaker.failure()
            raise ModelUnavailable("the reply stream ended early")
        self.breaker.success()


def _retry_after(response: Any) -> float | None:
    value = getattr(response, "headers", {}).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
