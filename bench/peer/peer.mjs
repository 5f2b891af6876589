// The peer: Digital Bazaar's VC library signs and verifies the same EDC micro-credential as
// microcred, in-process, in timed loops; it also verifies microcred's credentials (interop).
//
//   node peer.mjs CONFIG.json
//
// CONFIG: {contextsDir, unsignedPath, seedHex, created, warmupSeconds, ours: {rdfc, jcs}, outDir}
// Then one JSON command per line on stdin, one JSON reply per line on stdout, so that the bench
// can alternate short rounds of ours and the peer's (both see the same machine):
//   {"op": "hello"}                                     -> versions, did, copy cost
//   {"op": "measure", "case": "sign/rdfc", "seconds": 1, "maxIterations": 5000}
//                                                       -> latency summary and rate
//   {"op": "interop"}                                   -> verdicts on our credentials, paths
//                                                          of the peer's signed credentials
//   {"op": "exit"}
// Contexts come only from microcred's vendored contexts/ (sha256-checked); did:key documents are
// derived from the key itself. Any other URL is refused: the peer never touches the network.
import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {
  createSignCryptosuite,
  createVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {cryptosuite as rdfcCryptosuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const PACKAGES = [
  '@digitalbazaar/vc',
  '@digitalbazaar/data-integrity',
  '@digitalbazaar/ed25519-multikey',
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite',
  '@digitalbazaar/eddsa-jcs-2022-cryptosuite',
  'jsonld',
  'jsonld-signatures',
  'rdf-canonize'
];

async function readJson(file) {
  return JSON.parse(await readFile(file, 'utf8'));
}

async function loadContexts(directory) {
  const index = await readJson(path.join(directory, 'index.json'));
  const documents = new Map();
  for(const [url, meta] of Object.entries(index)) {
    const raw = await readFile(path.join(directory, meta.file));
    const digest = createHash('sha256').update(raw).digest('hex');
    if(digest !== meta.sha256) {
      throw new Error(`context ${meta.file} for ${url} does not match index.json`);
    }
    documents.set(url, JSON.parse(raw.toString('utf8')));
  }
  return documents;
}

// did:key (Ed25519 Multikey): the DID document, or the verification method for `did#fragment`.
function didKeyDocument(url) {
  const [did, fragment] = url.split('#');
  const fingerprint = did.slice('did:key:'.length);
  if(!fingerprint.startsWith('z6Mk')) {
    throw new Error(`${did} is not an Ed25519 did:key`);
  }
  const method = {
    id: `${did}#${fingerprint}`,
    type: 'Multikey',
    controller: did,
    publicKeyMultibase: fingerprint
  };
  if(fragment !== undefined) {
    if(fragment !== fingerprint) {
      throw new Error(`${url} is not a verification method of ${did}`);
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

function offlineLoader(contexts) {
  return async url => {
    let document;
    if(url.startsWith('did:key:')) {
      document = didKeyDocument(url);
    } else if(contexts.has(url)) {
      document = contexts.get(url);
    } else {
      throw new Error(`the peer loads nothing from the network (${url})`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

function summary(durations, elapsed) {
  const ordered = [...durations].sort((a, b) => a - b);
  const at = fraction => {
    const position = (ordered.length - 1) * fraction;
    const low = Math.floor(position);
    const high = Math.ceil(position);
    const weight = position - low;
    return ordered[low] * (1 - weight) + ordered[high] * weight;
  };
  const mean = ordered.reduce((a, b) => a + b, 0) / ordered.length;
  return {
    count: ordered.length,
    seconds: elapsed,
    per_second: ordered.length / elapsed,
    mean_ms: 1000 * mean,
    p50_ms: 1000 * at(0.5),
    p90_ms: 1000 * at(0.9),
    p99_ms: 1000 * at(0.99),
    max_ms: 1000 * ordered[ordered.length - 1]
  };
}

// Run `operation` sequentially for `seconds` (and at most `maxIterations`).
async function timedLoop(operation, {seconds, maxIterations}) {
  const durations = [];
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  while(durations.length < maxIterations) {
    const before = process.hrtime.bigint();
    await operation();
    const after = process.hrtime.bigint();
    durations.push(Number(after - before) / 1e9);
    if(after >= deadline) {
      break;
    }
  }
  return summary(durations, Number(process.hrtime.bigint() - started) / 1e9);
}

// `vc.issue` adds `proof` to its input, so every iteration works on a copy; the copy's own cost
// is measured apart and taken out (`net`), so the peer is not charged for it.
function withoutCopy(figures, copy) {
  const meanMs = figures.mean_ms - copy.mean_ms;
  return {...figures, copy_mean_ms: copy.mean_ms, net_mean_ms: meanMs,
    net_per_second: 1000 / meanMs};
}

async function versions() {
  const found = {};
  for(const name of PACKAGES) {
    try {
      const meta = await readJson(path.join(HERE, 'node_modules', name, 'package.json'));
      found[name] = meta.version;
    } catch{
      // not installed as its own package: leave it out
    }
  }
  return found;
}

function tamper(credential) {
  // Changes a signed value; every verifier must now refuse the credential.
  return {...structuredClone(credential), issuanceDate: '2020-01-01T00:00:00Z'};
}

async function verifyOnce(credential, suite, documentLoader) {
  try {
    const result = await vc.verifyCredential({
      credential: structuredClone(credential),
      suite,
      documentLoader,
      // The figures are about proofs: the status list is not fetched (no network).
      checkStatus: async () => ({verified: true})
    });
    const errors = [];
    for(const item of result.results ?? []) {
      if(item.error) {
        errors.push(String(item.error.message ?? item.error));
      }
    }
    if(result.error) {
      errors.push(String(result.error.message ?? result.error));
    }
    return {verified: result.verified === true, errors};
  } catch(error) {
    return {verified: false, errors: [String(error.message ?? error)]};
  }
}

async function setUp(config) {
  const contexts = await loadContexts(config.contextsDir);
  const documentLoader = offlineLoader(contexts);
  const unsigned = await readJson(config.unsignedPath);
  const seed = Uint8Array.from(Buffer.from(config.seedHex, 'hex'));
  const probe = await Ed25519Multikey.generate({seed});
  const did = `did:key:${probe.publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.generate({
    seed, controller: did, id: `${did}#${probe.publicKeyMultibase}`
  });
  const checkStatus = async () => ({verified: true}); // proofs only: no network
  const suites = {
    rdfc: {
      sign: new DataIntegrityProof({
        signer: keyPair.signer(), cryptosuite: rdfcCryptosuite, date: config.created
      }),
      verify: new DataIntegrityProof({cryptosuite: rdfcCryptosuite})
    },
    jcs: {
      sign: new DataIntegrityProof({
        signer: keyPair.signer(), cryptosuite: createSignCryptosuite(), date: config.created
      }),
      verify: new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()})
    }
  };
  const cases = {};
  const signed = {};
  for(const [name, suite] of Object.entries(suites)) {
    const issue = () => vc.issue({
      credential: structuredClone(unsigned), suite: suite.sign, documentLoader
    });
    signed[name] = await issue();
    const own = await verifyOnce(signed[name], suite.verify, documentLoader);
    if(!own.verified) {
      throw new Error(`the peer cannot verify its own ${name} credential: ${own.errors}`);
    }
    const mine = signed[name];
    cases[`sign/${name}`] = issue;
    cases[`verify/${name}`] = async () => {
      const result = await vc.verifyCredential({
        credential: structuredClone(mine), suite: suite.verify, documentLoader, checkStatus
      });
      if(!result.verified) {
        throw new Error(`verification of the peer's own ${name} credential failed`);
      }
    };
  }
  // Warm up every case (V8 optimizes hot code only after a while), for a bounded time.
  for(const operation of Object.values(cases)) {
    await timedLoop(operation, {seconds: config.warmupSeconds, maxIterations: 2000});
  }
  const copy = await timedLoop(() => structuredClone(unsigned), {
    seconds: Math.min(0.5, config.warmupSeconds), maxIterations: 20000
  });
  return {documentLoader, suites, cases, signed, did, copy};
}

async function interop(config, peer) {
  const verdicts = {};
  const paths = {};
  for(const [name, suite] of Object.entries(peer.suites)) {
    paths[name] = path.join(config.outDir, `peer-${name}.json`);
    await writeFile(paths[name], JSON.stringify(peer.signed[name], null, 2));
    const ours = await readJson(config.ours[name]);
    verdicts[name] = {
      ours: await verifyOnce(ours, suite.verify, peer.documentLoader),
      oursTampered: await verifyOnce(tamper(ours), suite.verify, peer.documentLoader)
    };
  }
  return {interop: verdicts, signed: paths};
}

async function answer(config, peer, command) {
  switch(command.op) {
    case 'hello':
      return {node: process.version, packages: await versions(), did: peer.did, copy: peer.copy};
    case 'measure': {
      const operation = peer.cases[command.case];
      if(!operation) {
        throw new Error(`no case ${command.case}`);
      }
      const figures = await timedLoop(operation, {
        seconds: command.seconds, maxIterations: command.maxIterations
      });
      return withoutCopy(figures, peer.copy);
    }
    case 'interop':
      return interop(config, peer);
    default:
      throw new Error(`unknown command ${command.op}`);
  }
}

async function main() {
  const config = await readJson(process.argv[2]);
  const peer = await setUp(config);
  process.stdout.write(JSON.stringify({ready: true}) + '\n');
  const lines = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
  for await (const line of lines) {
    if(!line.trim()) {
      continue;
    }
    const command = JSON.parse(line);
    if(command.op === 'exit') {
      break;
    }
    let reply;
    try {
      reply = await answer(config, peer, command);
    } catch(error) {
      reply = {error: String(error.stack ?? error)};
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
}

main().then(() => process.exit(0), error => {
  process.stdout.write(JSON.stringify({error: String(error.stack ?? error)}) + '\n');
  process.exit(1);
});
