// An independent SD-JWT VC implementation (@sd-jwt/*) checks what microcred issued and makes
// presentations of it. Reads one JSON request on stdin, writes one JSON reply on stdout.
//
// request: {sdJwt, issuerJwk, statusListToken, typeMetadata, holderPrivateJwk, audience,
//           frames: [{claim: true, ...}, ...], nonces: [...], now}
// reply:   {claims, header, status, statusFromList, typeMetadataName, presentations: [...],
//           presentationsVerified: [...]}
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';

const request = JSON.parse(readFileSync(0, 'utf8'));
const b64 = (data) => Buffer.from(data, 'base64url');

// EdDSA over Ed25519 with Node's own crypto: no code of microcred's.
const verifierFor = (jwk) => {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return async (data, signature) => verify(null, Buffer.from(data), key, b64(signature));
};
const holderKey = createPrivateKey({ key: request.holderPrivateJwk, format: 'jwk' });
const kbSigner = async (data) => sign(null, Buffer.from(data), holderKey).toString('base64url');
const kbVerifier = async (data, signature, payload) =>
  verifierFor(payload.cnf.jwk)(data, signature);

const sdjwt = new SDJwtVcInstance({
  hasher: digest,
  hashAlg: 'sha-256',
  saltGenerator: generateSalt,
  verifier: verifierFor(request.issuerJwk),
  kbSigner,
  kbSignAlg: 'EdDSA',
  kbVerifier,
  statusListFetcher: async (uri) => {
    if (uri !== request.statusListUri) throw new Error(`unexpected status list ${uri}`);
    return request.statusListToken;
  },
  statusValidator: async (status) => {
    if (status !== 0) throw new Error(`status ${status}`);
  },
  loadTypeMetadataFormat: true,
  vctFetcher: async (uri) => {
    if (uri !== request.typeMetadata.vct) throw new Error(`unexpected vct ${uri}`);
    return request.typeMetadata;
  },
});

const reply = {};
const verified = await sdjwt.verify(request.sdJwt, { currentDate: request.now });
reply.header = verified.header;
reply.claims = await sdjwt.getClaims(request.sdJwt);
reply.typeMetadataName = verified.typeMetadata?.mergedTypeMetadata?.name ?? null;
const list = getListFromStatusListJWT(request.statusListToken);
reply.statusFromList = list.getStatus(verified.payload.status.status_list.idx);
reply.presentableKeys = (await sdjwt.presentableKeys(request.sdJwt)).sort();
reply.presentations = [];
reply.presentationsVerified = [];
for (const [index, frame] of request.frames.entries()) {
  const nonce = request.nonces[index];
  const presentation = await sdjwt.present(request.sdJwt, frame, {
    kb: { payload: { iat: request.now, aud: request.audience, nonce } },
  });
  reply.presentations.push(presentation);
  const own = await sdjwt.verify(presentation, {
    currentDate: request.now,
    keyBindingNonce: nonce,
    requiredClaimKeys: Object.keys(frame),
  });
  reply.presentationsVerified.push(Boolean(own.kb));
}
// A revoked credential: the library's status check must refuse it.
if (request.revokedSdJwt) {
  const revoked = new SDJwtVcInstance({
    hasher: digest,
    verifier: verifierFor(request.issuerJwk),
    statusListFetcher: async () => request.revokedStatusListToken,
  });
  try {
    await revoked.verify(request.revokedSdJwt, { currentDate: request.now });
    reply.revokedRefused = false;
  } catch (error) {
    reply.revokedRefused = String(error.message);
  }
}
process.stdout.write(JSON.stringify(reply));
