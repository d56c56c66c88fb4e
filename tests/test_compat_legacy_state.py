"""Scopes over ptycho.params.cfg: reference-next.md §10; the seal wording of §4."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from ptycho import params
from ptycho.config.legacy_state import (
    archived_params_scope,
    configured_legacy_params,
    configured_params_scope,
    legacy_params_scope,
    scoped_legacy_params,
    transactional_legacy_params,
)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    params.reset()
    yield
    params.reset()


class Boom(Exception):
    pass


class TestScopes:
    def test_legacy_scope_always_restores_in_place(self) -> None:
        held = params.cfg
        with legacy_params_scope() as cfg:
            assert cfg is held
            cfg["nepochs"] = 3
            cfg["extra"] = 1
            params.seal()
        assert held is params.cfg
        assert (60, "extra" in params.cfg, params.is_sealed()) == (
            params.cfg["nepochs"],
            False,
            False,
        )

    def test_configured_scope_keeps_success_and_restores_failure(self) -> None:
        with configured_params_scope() as cfg:
            cfg["nepochs"] = 3
        assert 3 == params.cfg["nepochs"]

        def failing() -> None:
            with configured_params_scope() as cfg:
                cfg["nepochs"] = 4
                params.seal()
                raise Boom

        with pytest.raises(Boom):
            failing()
        assert (3, False) == (params.cfg["nepochs"], params.is_sealed())

    def test_configured_inside_legacy_is_still_restored(self) -> None:
        with legacy_params_scope(), configured_params_scope() as cfg:
            cfg["nepochs"] = 3
        assert 60 == params.cfg["nepochs"]

    def test_archived_commits_into_enclosing_snapshots(self) -> None:
        with legacy_params_scope():
            with archived_params_scope({"nepochs": 5}):
                params.seal()
            assert 5 == params.cfg["nepochs"]
        assert (5, True) == (params.cfg["nepochs"], params.is_sealed())

    def test_archived_inside_archive_does_not_commit_outward(self) -> None:
        """The inner archive leaves the outer archive's snapshot alone: its failure undoes it."""

        def outer_fails() -> None:
            with archived_params_scope({}):
                with archived_params_scope({"nepochs": 7}):
                    pass
                raise Boom

        with legacy_params_scope():
            with pytest.raises(Boom):
                outer_fails()
            assert 60 == params.cfg["nepochs"]

    def test_archived_failure_restores(self) -> None:
        with pytest.raises(Boom), archived_params_scope({"nepochs": 5}):
            raise Boom
        assert 60 == params.cfg["nepochs"]


class TestDecorators:
    def test_configured_rolls_back_a_failing_call(self) -> None:
        @configured_legacy_params
        def failing() -> None:
            params.cfg["nepochs"] = 9
            raise Boom

        with pytest.raises(Boom):
            failing()
        assert 60 == params.cfg["nepochs"]

    def test_scoped_nests_without_a_new_frame(self) -> None:
        @scoped_legacy_params
        def inner() -> None:
            params.cfg["nepochs"] = 2

        with configured_params_scope():
            inner()  # joins the caller's scope: the change stays
        assert 2 == params.cfg["nepochs"]
        params.reset()
        inner()  # on its own: restored
        assert 60 == params.cfg["nepochs"]

    def test_transactional_commits(self) -> None:
        @transactional_legacy_params
        def load() -> int:
            params.cfg["nepochs"] = 8
            return 1

        with legacy_params_scope():
            assert 1 == load()
        assert 8 == params.cfg["nepochs"]


class TestExclusivity:
    def test_another_thread_is_refused(self) -> None:
        errors: list[BaseException] = []

        def enter() -> None:
            try:
                with legacy_params_scope():
                    pass
            except RuntimeError as error:
                errors.append(error)

        with legacy_params_scope():
            thread = threading.Thread(target=enter)
            thread.start()
            thread.join()
        assert ["legacy params scope is already active in another execution context"] == [
            str(e) for e in errors
        ]
        enter()  # the owner left: free again
        assert 1 == len(errors)

    def test_another_task_is_refused(self) -> None:
        async def main() -> list[str]:
            entered = asyncio.Event()
            release = asyncio.Event()

            async def holder() -> None:
                with legacy_params_scope():
                    entered.set()
                    await release.wait()

            task = asyncio.create_task(holder())
            await entered.wait()
            try:
                with legacy_params_scope():
                    return []
            except RuntimeError as error:
                return [str(error)]
            finally:
                release.set()
                await task

        assert ["legacy params scope is already active in another execution context"] == (
            asyncio.run(main())
        )


def test_seal_wording(caplog: pytest.LogCaptureFixture) -> None:
    """§4: a post-seal set logs the reference's words with the writing line."""
    params.seal()
    with caplog.at_level("WARNING", logger="ptycho.params"):
        params.set("nepochs", 5)
    assert caplog.records[0].getMessage().startswith("post-seal params.cfg write: nepochs (from ")
    assert __file__ in caplog.records[0].getMessage()
