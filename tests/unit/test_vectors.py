"""The W3C vc-di-eddsa test vectors reproduce step by step, and every signed vector verifies.

Ed25519 is deterministic, so signing the vectors' inputs with their key must give byte-identical
canonical forms, hashes, signatures, ``proofValue``s and signed documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.crypto.cryptosuites import Cryptosuite, decode_proof_value
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair, PublicKey, multibase_base58btc_encode
from app.crypto.resolvers import resolve_did_key_method

JsonReader = Callable[[str], Any]  # the read_vector fixture


@dataclass(frozen=True)
class SuiteVector:
    """One single-proof case of the vectors: input, proof options and every intermediate value."""

    name: str
    unsigned: str
    folder: str
    suffix: str
    #: the input is the signed document without its proof (Ed25519Signature2020 has no unsigned)
    input_is_signed: bool = False

    @property
    def signed(self) -> str:
        return f"{self.folder}/signed{self.suffix}.json"

    @property
    def proof_config(self) -> str:
        return f"{self.folder}/proofConfig{self.suffix}.json"

    def text(self, eddsa_dir: Path, stem: str) -> str:
        """A hex / base58 value file, without surrounding whitespace."""
        return (eddsa_dir / self.folder / f"{stem}{self.suffix}.txt").read_text("utf-8").strip()

    def canonical_bytes(self, eddsa_dir: Path, stem: str) -> bytes:
        """A canonical-form file, byte for byte (N-Quads end in a newline, JCS does not)."""
        return (eddsa_dir / self.folder / f"{stem}{self.suffix}.txt").read_bytes()


SUITE_VECTORS = [
    SuiteVector("eddsa-rdfc-2022", "unsigned.json", "eddsa-rdfc-2022", "DataInt"),
    SuiteVector(
        "eddsa-rdfc-2022-employ", "employmentAuth.json", "eddsa-rdfc-2022/employ", "DataInt"
    ),
    SuiteVector("eddsa-jcs-2022", "unsigned.json", "eddsa-jcs-2022", "JCS"),
    SuiteVector(
        "Ed25519Signature2020",
        "Ed25519Signature2020/signedEdSig.json",
        "Ed25519Signature2020",
        "EdSig",
        input_is_signed=True,
    ),
]


def _created(options: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(options["created"].replace("Z", "+00:00"))


def _cryptosuite_name(options: dict[str, Any]) -> str:
    name = options.get("cryptosuite", options["type"])
    assert isinstance(name, str)
    return name


@dataclass
class LoadedVector:
    vector: SuiteVector
    unsigned: dict[str, Any]
    options: dict[str, Any]
    signed: dict[str, Any]
    suite: Cryptosuite


@pytest.fixture(params=SUITE_VECTORS, ids=[vector.name for vector in SUITE_VECTORS])
def case(
    request: pytest.FixtureRequest, read_vector: JsonReader, data_integrity: DataIntegrity
) -> LoadedVector:
    vector: SuiteVector = request.param
    unsigned = read_vector(vector.unsigned)
    if vector.input_is_signed:
        del unsigned["proof"]
    assert "proof" not in unsigned
    options = read_vector(vector.proof_config)
    return LoadedVector(
        vector, unsigned, options, read_vector(vector.signed), data_integrity.suite_for(options)
    )


# -- single proofs, step by step -------------------------------------------------------------


def test_suite_chosen_for_the_proof_options_is_the_vectors_suite(case: LoadedVector) -> None:
    assert case.suite.name == _cryptosuite_name(case.options)


def test_transformation_gives_the_canonical_document_byte_for_byte(
    case: LoadedVector, eddsa_dir: Path
) -> None:
    expected = case.vector.canonical_bytes(eddsa_dir, "canonDoc")
    assert case.suite.transform(case.unsigned) == expected


def test_proof_configuration_gives_the_canonical_proof_options_byte_for_byte(
    case: LoadedVector, eddsa_dir: Path
) -> None:
    expected = case.vector.canonical_bytes(eddsa_dir, "proofCanon")
    assert case.suite.proof_configuration(case.unsigned, case.options) == expected


def test_hashing_gives_proof_hash_then_document_hash(case: LoadedVector, eddsa_dir: Path) -> None:
    combined = case.suite.hash(
        case.suite.transform(case.unsigned),
        case.suite.proof_configuration(case.unsigned, case.options),
    )
    assert len(combined) == 64
    assert combined[:32].hex() == case.vector.text(eddsa_dir, "proofHash")
    assert combined[32:].hex() == case.vector.text(eddsa_dir, "docHash")
    assert combined.hex() == case.vector.text(eddsa_dir, "combinedHash")


def test_vector_hashes_are_sha256_of_the_canonical_files(
    case: LoadedVector, eddsa_dir: Path
) -> None:
    """Pins what is hashed: the UTF-8 bytes of the canonical text exactly as in the files."""
    document = case.vector.canonical_bytes(eddsa_dir, "canonDoc")
    proof = case.vector.canonical_bytes(eddsa_dir, "proofCanon")
    assert hashlib.sha256(document).hexdigest() == case.vector.text(eddsa_dir, "docHash")
    assert hashlib.sha256(proof).hexdigest() == case.vector.text(eddsa_dir, "proofHash")


def test_signature_over_the_combined_hash_matches_the_vector(
    case: LoadedVector, eddsa_dir: Path, vector_key: KeyPair
) -> None:
    combined = case.suite.hash_data(case.unsigned, case.options)
    assert vector_key.sign(combined).hex() == case.vector.text(eddsa_dir, "sigHex")


def test_proof_value_is_base58btc_multibase_of_the_signature(
    case: LoadedVector, eddsa_dir: Path
) -> None:
    signature = bytes.fromhex(case.vector.text(eddsa_dir, "sigHex"))
    proof_value = case.vector.text(eddsa_dir, "sigBTC58")
    assert multibase_base58btc_encode(signature) == proof_value
    assert decode_proof_value(proof_value) == signature
    assert case.signed["proof"]["proofValue"] == proof_value


def test_create_proof_gives_the_vectors_proof_object(
    case: LoadedVector, vector_key: KeyPair
) -> None:
    proof = case.suite.create_proof(case.unsigned, case.options, vector_key)
    assert proof == case.signed["proof"]


def test_add_proof_reproduces_the_signed_document(
    case: LoadedVector, data_integrity: DataIntegrity, vector_key: KeyPair
) -> None:
    signed = data_integrity.add_proof(
        case.unsigned,
        vector_key,
        case.options["verificationMethod"],
        created=_created(case.options),
        cryptosuite=_cryptosuite_name(case.options),
        proof_purpose=case.options["proofPurpose"],
    )
    assert signed == case.signed


def test_signed_vector_verifies(
    case: LoadedVector, data_integrity: DataIntegrity, now: datetime
) -> None:
    result = data_integrity.verify(case.signed, resolve_did_key_method, now=now)
    assert result.verified, result.errors
    [proof_result] = result.proofs
    assert proof_result.error is None
    assert proof_result.verification_method is not None
    assert proof_result.verification_method.id == case.options["verificationMethod"]


def test_rdfc_proof_drops_the_context_and_jcs_proof_keeps_it(case: LoadedVector) -> None:
    """The emitted proof: @context only for eddsa-jcs-2022 (it is signed over either way)."""
    assert ("@context" in case.signed["proof"]) == (case.suite.name == "eddsa-jcs-2022")
    assert "@context" in case.options


# -- proof sets and chains -------------------------------------------------------------------

SET_CHAIN = "proof-set-chain"


@dataclass(frozen=True)
class AddStep:
    name: str
    input: str
    config: str
    signed_proof: str
    output: str


ADD_STEPS = [
    AddStep(
        "set-1", "unsigned.json", "proofSetConfig1", "proofSetConfigSigned1", "signedProofSet1"
    ),
    AddStep(
        "set-2", "signedProofSet1", "proofSetConfig2", "proofSetConfigSigned2", "signedProofSet2"
    ),
    AddStep(
        "chain-1",
        "signedProofSet2",
        "proofChainConfig1",
        "proofChainConfigSigned1",
        "signedProofChain1",
    ),
    AddStep(
        "chain-2",
        "signedProofChain1",
        "proofChainConfig2",
        "proofChainConfigSigned2",
        "signedProofChain2",
    ),
]
SIGNED_SET_CHAIN_FILES = [step.output for step in ADD_STEPS]


def _set_chain(read_vector: JsonReader, stem: str) -> Any:
    name = stem if stem.endswith(".json") else f"{stem}.json"
    return read_vector(f"{SET_CHAIN}/{name}")


def _key_for_method(read_vector: JsonReader, verification_method: str) -> KeyPair:
    """The key pair in multiKeyPairs.json whose public key the did:key method names."""
    public_multibase = verification_method.split("#", 1)[1]
    pairs = _set_chain(read_vector, "multiKeyPairs").values()
    [pair] = [pair for pair in pairs if pair["publicKeyMultibase"] == public_multibase]
    key = KeyPair.from_secret_multibase(pair["privateKeyMultibase"])
    assert key.public_key_multibase == public_multibase
    return key


def _add_as_configured(
    data_integrity: DataIntegrity, document: dict[str, Any], config: dict[str, Any], key: KeyPair
) -> dict[str, Any]:
    return data_integrity.add_proof(
        document,
        key,
        config["verificationMethod"],
        created=_created(config),
        cryptosuite=config["cryptosuite"],
        proof_purpose=config["proofPurpose"],
        proof_id=config.get("id"),
        previous_proof=config.get("previousProof"),
    )


@pytest.mark.parametrize("step", ADD_STEPS, ids=[step.name for step in ADD_STEPS])
def test_add_proof_reproduces_the_proof_set_and_chain_files(
    step: AddStep, read_vector: JsonReader, data_integrity: DataIntegrity
) -> None:
    config = _set_chain(read_vector, step.config)
    key = _key_for_method(read_vector, config["verificationMethod"])
    document = _set_chain(read_vector, step.input)

    signed = _add_as_configured(data_integrity, document, config, key)

    assert signed == _set_chain(read_vector, step.output)
    newest = signed["proof"][-1] if isinstance(signed["proof"], list) else signed["proof"]
    assert newest == _set_chain(read_vector, step.signed_proof)


@pytest.mark.parametrize("signed_file", SIGNED_SET_CHAIN_FILES)
def test_every_proof_of_the_signed_set_and_chain_files_verifies(
    signed_file: str, read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    document = _set_chain(read_vector, signed_file)
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]

    result = data_integrity.verify(document, resolve_did_key_method, now=now)

    assert result.verified, result.errors
    assert len(result.proofs) == len(proofs)
    assert [r.proof for r in result.proofs] == proofs
    assert all(r.verified and r.error is None for r in result.proofs)


CHAIN_LINKS = [
    ("proofChainTempDoc1", "proofChainConfigSigned1", "signedProofChain1"),
    ("proofChainTempDoc2", "proofChainConfigSigned2", "signedProofChain2"),
]


@pytest.mark.parametrize(("temp_doc", "signed_proof", "signed_file"), CHAIN_LINKS)
def test_chain_temp_doc_is_the_document_with_the_previous_proofs_as_a_list(
    temp_doc: str, signed_proof: str, signed_file: str, read_vector: JsonReader
) -> None:
    document = _set_chain(read_vector, signed_file)
    chained = _set_chain(read_vector, signed_proof)
    previous = chained["previousProof"]
    wanted = previous if isinstance(previous, list) else [previous]
    expected = {k: v for k, v in document.items() if k != "proof"}
    expected["proof"] = [p for p in document["proof"] if p.get("id") in wanted]

    assert _set_chain(read_vector, temp_doc) == expected


@pytest.mark.parametrize(("temp_doc", "signed_proof", "signed_file"), CHAIN_LINKS)
def test_chained_proof_is_a_signature_over_the_temp_doc(
    temp_doc: str,
    signed_proof: str,
    signed_file: str,
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
) -> None:
    proof = _set_chain(read_vector, signed_proof)
    hashed_document = _set_chain(read_vector, temp_doc)
    key = _key_for_method(read_vector, proof["verificationMethod"])
    suite = data_integrity.suite_for(proof)
    options = {k: v for k, v in proof.items() if k != "proofValue"}

    assert suite.create_proof(hashed_document, options, key) == proof
    assert suite.verify_proof(hashed_document, proof, key.public_key)


def test_second_chain_link_does_not_cover_the_proofs_it_does_not_name(
    read_vector: JsonReader, data_integrity: DataIntegrity
) -> None:
    """Negative control: the last link signs only proof 3, not the whole proof set before it."""
    proof = _set_chain(read_vector, "proofChainConfigSigned2")
    document = _set_chain(read_vector, "signedProofChain1")  # all three earlier proofs attached
    key = _key_for_method(read_vector, proof["verificationMethod"])

    assert not data_integrity.suite_for(proof).verify_proof(document, proof, key.public_key)


def test_chain_temp_doc_list_and_single_object_canonicalize_alike_for_rdfc(
    read_vector: JsonReader, data_integrity: DataIntegrity
) -> None:
    """Why the rdfc vectors cannot tell a one-proof list from one object (jcs can, see below)."""
    as_list = _set_chain(read_vector, "proofChainTempDoc2")
    [only] = as_list["proof"]
    as_object = {**as_list, "proof": only}
    rdfc = data_integrity.suites["eddsa-rdfc-2022"]
    jcs = data_integrity.suites["eddsa-jcs-2022"]

    assert rdfc.transform(as_list) == rdfc.transform(as_object)
    assert jcs.transform(as_list) != jcs.transform(as_object)


def test_jcs_chain_signs_the_named_previous_proof_as_a_one_element_list(
    read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    keys = _set_chain(read_vector, "multiKeyPairs")
    first = KeyPair.from_secret_multibase(keys["keyPair1"]["privateKeyMultibase"])
    second = KeyPair.from_secret_multibase(keys["keyPair2"]["privateKeyMultibase"])
    created = datetime.fromisoformat("2023-02-24T23:36:38+00:00")

    def method(key: KeyPair) -> str:
        return f"did:key:{key.public_key_multibase}#{key.public_key_multibase}"

    unsigned = _set_chain(read_vector, "unsigned")
    once = data_integrity.add_proof(
        unsigned,
        first,
        method(first),
        created=created,
        cryptosuite="eddsa-jcs-2022",
        proof_id="urn:uuid:first",
    )
    twice = data_integrity.add_proof(
        once,
        second,
        method(second),
        created=created,
        cryptosuite="eddsa-jcs-2022",
        previous_proof="urn:uuid:first",
    )
    earlier, link = twice["proof"]
    suite = data_integrity.suites["eddsa-jcs-2022"]

    assert suite.verify_proof({**unsigned, "proof": [earlier]}, link, second.public_key)
    assert not suite.verify_proof({**unsigned, "proof": earlier}, link, second.public_key)
    assert data_integrity.verify(twice, resolve_did_key_method, now=now).verified


def test_public_key_of_every_set_and_chain_method_is_in_multikey_pairs(
    read_vector: JsonReader,
) -> None:
    methods = {
        proof["verificationMethod"]
        for proof in _set_chain(read_vector, "signedProofChain2")["proof"]
    }
    keys = {
        PublicKey.from_multibase(pair["publicKeyMultibase"]).multibase
        for pair in _set_chain(read_vector, "multiKeyPairs").values()
    }
    assert {method.split("#", 1)[1] for method in methods} == keys


# -- VC 1.1 envelope -------------------------------------------------------------------------

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"


def _vc11_credential(issuer: str) -> dict[str, Any]:
    """A VC 1.1 credential; its claim terms come from an inline context (the examples/v1
    context imports the ODRL context, which is not vendored)."""
    return {
        "@context": [
            VC_V1_CONTEXT,
            {
                "alumniOf": "https://schema.org/alumniOf",
                "AlumniCredential": "https://example.org/vocab#AlumniCredential",
            },
        ],
        "id": "http://university.example/credentials/1872",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "issuer": issuer,
        "issuanceDate": "2010-01-01T19:23:24Z",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "alumniOf": "Example University",
        },
    }


VC11_CREATED = datetime.fromisoformat("2024-03-01T09:30:00+00:00")


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_vc11_credential_gets_the_data_integrity_context_appended_and_verifies(
    cryptosuite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    now: datetime,
) -> None:
    credential = _vc11_credential(vector_method.split("#", 1)[0])
    original_context = list(credential["@context"])

    signed = data_integrity.add_proof(
        credential, vector_key, vector_method, created=VC11_CREATED, cryptosuite=cryptosuite
    )

    assert signed["@context"] == [*original_context, DATA_INTEGRITY_V2_CONTEXT]
    assert credential["@context"] == original_context  # the input is left alone
    assert signed["proof"]["type"] == "DataIntegrityProof"
    assert signed["proof"]["cryptosuite"] == cryptosuite
    if cryptosuite == "eddsa-jcs-2022":
        assert signed["proof"]["@context"] == signed["@context"]
    result = data_integrity.verify(signed, resolve_did_key_method, now=now)
    assert result.verified, result.errors


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_vc11_credential_without_the_appended_context_does_not_verify(
    cryptosuite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    now: datetime,
) -> None:
    """The appended context is part of what is signed (and rdfc needs it for the proof terms)."""
    credential = _vc11_credential(vector_method.split("#", 1)[0])
    signed = data_integrity.add_proof(
        credential, vector_key, vector_method, created=VC11_CREATED, cryptosuite=cryptosuite
    )
    signed["@context"] = credential["@context"]

    assert not data_integrity.verify(signed, resolve_did_key_method, now=now).verified


def test_vc11_credential_that_has_the_data_integrity_context_keeps_one_copy(
    data_integrity: DataIntegrity, vector_key: KeyPair, vector_method: str
) -> None:
    credential = _vc11_credential(vector_method.split("#", 1)[0])
    credential["@context"] = [*credential["@context"], DATA_INTEGRITY_V2_CONTEXT]

    signed = data_integrity.add_proof(credential, vector_key, vector_method, created=VC11_CREATED)

    assert signed["@context"] == credential["@context"]
