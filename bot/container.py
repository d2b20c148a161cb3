"""The one place that turns settings into services. The CLI, the Slack app and the tests all
build them here, so a service is wired the same way wherever it runs.

Each part is made on first use: `coe requests list` never loads the embedding model, and
`coe ask` never opens the database.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.answering.models import Verification
    from bot.answering.service import AnswerService
    from bot.consultations.service import ConsultationService
    from bot.db.store import Store
    from bot.enablement.reviews import ReviewService
    from bot.enablement.runs import ChecklistRuns
    from bot.enablement.workshops import WorkshopService
    from bot.shared_index import SharedIndex
    from bot.work.claims import JobClaims
    from bot.work.rate_limit import Limiter


class Services:
    def __init__(self, settings: Settings, index_dir: Path | None = None) -> None:
        """`index_dir`: where the index lives, if not in the data directory (tests share
        one ingested knowledge base between many databases)."""
        self.settings = settings
        self.index_dir = index_dir or settings.data_dir
        from ingest.embedding import use_backend

        use_backend(settings.embedding_backend)

    @cached_property
    def store(self) -> Store:
        """The database, migrated to the current schema."""
        from bot.db.engine import database_url, make_engine, upgrade
        from bot.db.store import Store

        engine = make_engine(database_url(self.settings.database_url, self.settings.data_dir))
        upgrade(engine)
        return Store(engine)

    @cached_property
    def answers(self) -> AnswerService:
        from bot.answering.service import AnswerService
        from bot.answering.written import writer_from

        return AnswerService(
            self.index_dir,
            source_base_url=self.settings.source_base_url,
            help_channel=self.settings.help_channel,
            writer=writer_from(self.settings),
            verifications=self._verifications,
        )

    def _verifications(self) -> dict[str, Verification]:
        # A terminal `coe ask` on a data folder that never had a database does not make one
        # (nor pay for opening it): nobody can have verified anything there.
        default_db = Path(self.settings.data_dir) / "coe.db"
        if self.settings.database_url is None and not default_db.exists():
            return {}
        return self.reviews.verifications()

    def consultations(self, is_staff: Callable[[str], bool] | None = None) -> ConsultationService:
        """`is_staff` defaults to COE_STAFF_USER_IDS; the Slack app adds the user group."""
        from bot.consultations.service import ConsultationService

        staff = set(self.settings.staff_user_ids)
        return ConsultationService(
            self.store, is_staff or staff.__contains__, self.settings.sla_working_days
        )

    @cached_property
    def checklist_runs(self) -> ChecklistRuns:
        from bot.enablement.runs import ChecklistRuns

        return ChecklistRuns(self.store)

    @cached_property
    def reviews(self) -> ReviewService:
        from bot.enablement.reviews import ReviewService

        return ReviewService(self.store)

    @cached_property
    def workshops(self) -> WorkshopService:
        from bot.enablement.workshops import WorkshopService

        return WorkshopService(self.store)

    @cached_property
    def shared_index(self) -> SharedIndex | None:
        """The index every replica follows, when COE_CHROMA_URL names a Chroma server."""
        if not self.settings.chroma_url:
            return None
        from bot.shared_index import SharedIndex

        return SharedIndex(self.store, self.index_dir, self.settings.chroma_url)

    @cached_property
    def claims(self) -> JobClaims:
        """Named claims, so N replicas run each background job once."""
        from bot.work.claims import JobClaims

        return JobClaims(self.store)

    @cached_property
    def limiter(self) -> Limiter:
        """Counted in Redis when COE_REDIS_URL is set, else in the database: either way every
        replica shares one limit per person."""
        from bot.work.rate_limit import RedisLimiter, SharedLimiter

        if self.settings.redis_url:
            return RedisLimiter(self.settings.redis_url, self.settings.rate_limit_per_minute)
        return SharedLimiter(self.store, self.settings.rate_limit_per_minute)


def build(settings: Settings, index_dir: Path | None = None) -> Services:
    return Services(settings, index_dir)
