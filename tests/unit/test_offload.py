"""Large documents off the event loop (app/services/offload.py, app/jsonld/deferral.py): why a
process and not a thread, the same outcomes as inline, the loop free meanwhile, small documents
inline, and a worker that overruns its time killed."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph
import pytest

from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.shacl import validate_edc
from app.crypto.dataintegrity import DataIntegrity, with_data_integrity_context
from app.crypto.errors import ProofTransformationError
from app.crypto.keys import KeyPair
from app.crypto.resolvers import resolve_did_key_method
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import OfflineDocumentLoader, OxigraphCanonicalizer, PoisonGraphError
from app.jsonld.deferral import count_values
from app.services.offload import Offload, WorkerSpec
from tests import processes
from tests.factories import clique_credential, large_credential, vc2_credential

pytestmark = pytest.mark.anyio

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


@pytest.fixture(scope="module")
def loader(contexts_dir: Path) -> OfflineDocumentLoader:
    return OfflineDocumentLoader(contexts_dir)


@pytest.fixture(scope="module")
def di(loader: OfflineDocumentLoader) -> DataIntegrity:
    return DataIntegrity(OxigraphCanonicalizer(loader, remember=0))


@pytest.fixture(scope="module")
def key() -> tuple[KeyPair, str]:
    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    return pair, did


@pytest.fixture(scope="module")
def large_signed(di: DataIntegrity, key: tuple[KeyPair, str]) -> dict[str, Any]:
    pair, did = key
    return di.add_proof(
        large_credential(did), pair, did_key_verification_method_id(did), created=CREATED
    )


def offload(contexts_dir: Path, **options: Any) -> Offload:
    return Offload(WorkerSpec(str(contexts_dir)), **options)


def worker_processes() -> list[int]:
    """This process's anyio worker processes."""
    found = []
    for pid in processes.descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"anyio.to_process" in command:
            found.append(pid)
    return found


async def longest_pause(work: Callable[[], Awaitable[_T]]) -> tuple[_T, float]:
    """``await work()`` while a task ticks every millisecond: the result, and the longest time
    the event loop left the ticker waiting."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    try:
        result = await work()
    finally:
        done.set()
        await ticker
    return result, max(gaps)


def test_pyoxigraph_keeps_the_gil_while_it_canonicalizes(
    loader: OfflineDocumentLoader, key: tuple[KeyPair, str]
) -> None:
    # Why a process and not a thread: while Dataset.canonicalize runs in a thread, the main
    # thread does not get to run at all (should a pyoxigraph release the GIL there, a thread
    # may do for the fast path, and this test says so).
    text = OxigraphCanonicalizer(loader)._inline_contexts(large_credential(key[1]))
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.JSON_LD))
    finished = threading.Event()
    elapsed: list[float] = []

    def canonicalize() -> None:
        started = time.perf_counter()
        dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
        elapsed.append(time.perf_counter() - started)
        finished.set()

    thread = threading.Thread(target=canonicalize)
    wakeups = 0
    thread.start()
    while not finished.is_set():
        time.sleep(0.0005)
        wakeups += 1
    thread.join()
    assert elapsed[0] > 0.01, elapsed  # long enough to see the main thread run, if it could
    assert wakeups <= 3, (wakeups, elapsed)


def test_values_are_counted_up_to_the_limit() -> None:
    document = {"a": [1, 2, {"b": "c"}], "d": None}
    assert count_values(document, 100) == 7
    assert count_values(document, 3) == 3
    assert count_values(large_credential("did:example:i"), 2_500) == 2_500


def test_the_service_edc_and_the_official_sample_are_small(
    loader: OfflineDocumentLoader, contexts_dir: Path
) -> None:
    # The common case stays on the event loop (no process round trip).
    import json

    sample = Path(__file__).resolve().parents[1] / "data/edc/samples"
    official = json.loads((sample / "Sample-MC-Annex1-unsigned.jsonld").read_text())
    mc = MicroCredentialIn.model_validate(example_request(format="edc"))
    from app.credentials.edc import build_edc

    edc = build_edc(mc, example_issuer(), credential_id="urn:uuid:1", issued=CREATED, status=[])
    pool = offload(contexts_dir)
    assert not pool.is_large(edc) and not pool.is_large(official)
    assert pool.is_large(large_credential("did:example:i"))


async def test_a_large_document_is_signed_and_verified_in_a_worker_with_the_loop_free(
    di: DataIntegrity,
    key: tuple[KeyPair, str],
    large_signed: dict[str, Any],
    contexts_dir: Path,
) -> None:
    pair, did = key
    method = did_key_verification_method_id(did)
    pool = offload(contexts_dir)
    sign = partial(di.add_proof, large_credential(did), pair, method, created=CREATED)
    await pool.run(sign)  # the worker process starts (about half a second)
    assert pool.performed == 1

    signed, pause = await longest_pause(lambda: pool.run(sign))
    assert signed == large_signed  # Ed25519 is deterministic: the same N-Quads were signed
    assert pool.performed == 2
    assert pause < 0.1, pause

    result, pause = await longest_pause(
        lambda: pool.run(partial(di.verify, large_signed, resolve_did_key_method))
    )
    assert result.verified and pool.performed == 3
    assert pause < 0.1, pause

    tampered = {**large_signed, "credentialSubject": list(large_signed["credentialSubject"])}
    tampered["credentialSubject"][7] = {"id": "did:example:learner-7", "alumniOf": "Elsewhere"}
    result = await pool.run(partial(di.verify, tampered, resolve_did_key_method))
    assert not result.verified
    assert [error.detail for error in result.errors] == [
        "the signature does not match the document"
    ]


async def test_inline_the_same_verification_holds_the_loop(
    di: DataIntegrity, large_signed: dict[str, Any], contexts_dir: Path
) -> None:
    # The control of the test above: without workers the loop waits for the canonicalization.
    pool = offload(contexts_dir, workers=0)
    result, pause = await longest_pause(
        lambda: pool.run(partial(di.verify, large_signed, resolve_did_key_method))
    )
    assert result.verified and pool.performed == 0
    assert pause > 0.1, pause


async def test_small_documents_stay_inline(
    di: DataIntegrity, key: tuple[KeyPair, str], contexts_dir: Path
) -> None:
    pair, did = key
    pool = offload(contexts_dir)
    signed = await pool.run(
        partial(
            di.add_proof,
            vc2_credential(did),
            pair,
            did_key_verification_method_id(did),
            created=CREATED,
        )
    )
    assert (await pool.run(partial(di.verify, signed, resolve_did_key_method))).verified
    assert pool.performed == 0 and worker_processes() == []


async def test_errors_come_back_as_they_are_raised_inline(
    di: DataIntegrity, loader: OfflineDocumentLoader, key: tuple[KeyPair, str], contexts_dir: Path
) -> None:
    # A poison graph is refused in the worker by the same work limit, with the same error.
    poison = clique_credential(8, key[1])
    pool = offload(contexts_dir, min_values=10)
    canonicalizer = OxigraphCanonicalizer(loader, remember=0)
    with pytest.raises(PoisonGraphError) as inline:
        canonicalizer.canonicalize(poison)
    with pytest.raises(PoisonGraphError) as offloaded:
        await pool.run(partial(canonicalizer.canonicalize, poison))
    assert str(offloaded.value) == str(inline.value)
    assert pool.performed == 1


async def test_an_edc_is_validated_against_the_shapes_in_a_worker(
    loader: OfflineDocumentLoader, contexts_dir: Path
) -> None:
    from app.credentials.edc import build_edc

    mc = MicroCredentialIn.model_validate(example_request(format="edc"))
    edc = with_data_integrity_context(
        build_edc(mc, example_issuer(), credential_id="urn:uuid:1", issued=CREATED, status=[])
    )
    broken = {**edc, "credentialSubject": {**edc["credentialSubject"]}}
    del broken["credentialSubject"]["hasClaim"]
    canonicalizer = OxigraphCanonicalizer(loader)
    pool = offload(contexts_dir, min_values=10)  # every document is large here
    for document in (edc, broken):
        inline = validate_edc(document, loader, canonicalizer=canonicalizer)
        offloaded = await pool.run(
            partial(validate_edc, document, loader, canonicalizer=canonicalizer)
        )
        assert offloaded == inline
    assert pool.performed == 2
    assert not inline.conforms  # the broken one, as the control


async def test_a_worker_that_overruns_is_killed_and_the_document_fails(
    di: DataIntegrity, large_signed: dict[str, Any], contexts_dir: Path
) -> None:
    pool = offload(contexts_dir, timeout=0.05)  # canonicalizing takes ~0.2 s, starting ~0.5 s
    result = await pool.run(partial(di.verify, large_signed, resolve_did_key_method))
    assert not result.verified
    [error] = result.errors
    assert isinstance(error, ProofTransformationError)
    assert "took longer than 0.05 s and was stopped" in error.detail
    assert pool.failed == 1
    deadline = time.monotonic() + 5
    while worker_processes():
        assert time.monotonic() < deadline, "the worker process is still alive"
        await asyncio.sleep(0.05)
