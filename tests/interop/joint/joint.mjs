// Digital Bazaar's Data Integrity stack (@digitalbazaar/vc, data-integrity,
// eddsa-rdfc-2022-cryptosuite, jsonld-signatures) and microcred's joint credentials.
// Reads one JSON request on stdin, writes one JSON reply on stdout.
//
//   {op: "sign", contextsDir, seedHex, draft, created}
//       -> {did, proof}: an awarding body elsewhere signs the draft (a member of the proof set)
//   {op: "verify", contextsDir, credential, didDocuments?}
//       -> {eachProof: [{verificationMethod, verified, error}],  every proof on its own
//           proofSet: {verified, results},                        jsonld-signatures, the set
//           verifyCredential: {verified, results}}                 @digitalbazaar/vc
//
// The document loader serves only the project's pinned contexts (checked against their
// sha256 in index.json), did:key documents derived from the key itself, and the DID documents
// the request gives; anything else is refused: no network.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import path from 'node:path';

import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import jsigs from 'jsonld-signatures';

const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const {AssertionProofPurpose} = jsigs.purposes;

function pinnedContexts(directory) {
  const index = JSON.parse(readFileSync(path.join(directory, 'index.json'), 'utf8'));
  const contexts = new Map();
  for(const [url, entry] of Object.entries(index)) {
    const bytes = readFileSync(path.join(directory, entry.file));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if(sha256 !== entry.sha256) {
      throw new Error(`${entry.file} (${url}) differs from its pinned sha256`);
    }
    contexts.set(url, JSON.parse(bytes.toString('utf8')));
  }
  return contexts;
}

// An Ed25519 did:key's DID document, or its one verification method.
function didKey(url) {
  const [did, fragment] = url.split('#');
  const multibase = did.slice('did:key:'.length);
  if(!multibase.startsWith('z6Mk')) {
    throw new Error(`${did}: only Ed25519 did:keys are resolved`);
  }
  const method = {
    id: `${did}#${multibase}`, type: 'Multikey', controller: did, publicKeyMultibase: multibase
  };
  if(fragment !== undefined) {
    if(fragment !== multibase) {
      throw new Error(`${url} is not a method of ${did}`);
    }
    return {'@context': MULTIKEY_V1, ...method};
  }
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
    authentication: [method.id]
  };
}

function loader(contexts, didDocuments = {}) {
  return async url => {
    let document;
    const [base, fragment] = url.split('#');
    if(contexts.has(url)) {
      document = contexts.get(url);
    } else if(didDocuments[base] !== undefined) {
      const controller = didDocuments[base];
      document = fragment === undefined ? controller :
        {'@context': controller['@context'],
          ...controller.verificationMethod.find(m => m.id === url)};
    } else if(url.startsWith('did:key:')) {
      document = didKey(url);
    } else {
      throw new Error(`not loaded (offline): ${url}`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

function message(error) {
  if(!error) {
    return null;
  }
  const errors = Array.isArray(error) ? error : [error];
  return errors.map(e => String(e.message ?? e)).join('; ');
}

function summary(result) {
  return {
    verified: result.verified === true,
    error: message(result.error),
    results: (result.results ?? []).map(r => ({
      verificationMethod: r.proof?.verificationMethod ?? null,
      verified: r.verified === true,
      error: message(r.error)
    }))
  };
}

async function sign(request, documentLoader) {
  const seed = Uint8Array.from(Buffer.from(request.seedHex, 'hex'));
  const probe = await Ed25519Multikey.generate({seed});
  const did = `did:key:${probe.publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.generate({
    seed, controller: did, id: `${did}#${probe.publicKeyMultibase}`
  });
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite: eddsaRdfc2022, date: request.created
  });
  const signed = await jsigs.sign(structuredClone(request.draft), {
    suite, purpose: new AssertionProofPurpose(), documentLoader
  });
  return {did, proof: signed.proof};
}

async function verify(request, documentLoader) {
  const credential = request.credential;
  const proofs = Array.isArray(credential.proof) ? credential.proof : [credential.proof];
  const unsecured = {...credential};
  delete unsecured.proof;
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const eachProof = [];
  for(const proof of proofs) {
    const result = await jsigs.verify({...structuredClone(unsecured), proof}, {
      suite, purpose: new AssertionProofPurpose(), documentLoader
    });
    eachProof.push({
      verificationMethod: proof.verificationMethod,
      verified: result.verified === true,
      error: message(result.error)
    });
  }
  const proofSet = await jsigs.verify(structuredClone(credential), {
    suite, purpose: new AssertionProofPurpose(), documentLoader
  });
  let verifyCredential;
  try {
    verifyCredential = summary(await vc.verifyCredential({
      credential: structuredClone(credential),
      suite,
      documentLoader,
      // proofs only: the status list is checked by the service's own tests (no network here)
      checkStatus: async () => ({verified: true})
    }));
  } catch(error) {
    verifyCredential = {verified: false, error: message(error), results: []};
  }
  return {eachProof, proofSet: summary(proofSet), verifyCredential};
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const documentLoader = loader(pinnedContexts(request.contextsDir), request.didDocuments);
const reply = request.op === 'sign' ?
  await sign(request, documentLoader) : await verify(request, documentLoader);
process.stdout.write(JSON.stringify(reply));
