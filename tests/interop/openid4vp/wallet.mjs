// A wallet built from @openid4vc/openid4vp (OpenID4VP 1.0) and @sd-jwt/sd-jwt-vc answers a
// microcred presentation request. Reads one JSON request on stdin, writes one JSON reply.
//
// {action: "resolve", deepLink, didWebScheme}
//   -> {payload, client: {prefix, identifier, didUrl}, version, dcql}
//      The library parses the openid4vp:// link, fetches the request_uri, checks the request
//      object's signature (its key resolved here from the did:web document, checked with
//      Node's own Ed25519) and that its signer is the client identifier's DID.
// {action: "respond", payload, presentation?, sdJwt?, holderPrivateJwk?, frame?, now}
//   -> {status, body, vpToken}
//      An SD-JWT VC presentation with a KB-JWT (aud = client_id, nonce) is made with
//      @sd-jwt/sd-jwt-vc; a Data Integrity presentation is given. The library builds the
//      Authorization Response (vp_token keyed by the DCQL query id) and submits it by
//      direct_post to the response_uri.
import { createPrivateKey, createPublicKey, createHash, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompactEncrypt, importJWK } from 'jose';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { setGlobalConfig } from '@openid4vc/utils';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';

const request = JSON.parse(readFileSync(0, 'utf8'));
setGlobalConfig({ allowInsecureUrls: true }); // the test serves plain http on 127.0.0.1

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(text) {
  let value = 0n;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new Error('not base58');
    value = value * 58n + BigInt(digit);
  }
  const bytes = [];
  while (value > 0n) {
    bytes.unshift(Number(value % 256n));
    value /= 256n;
  }
  for (const char of text) {
    if (char !== '1') break;
    bytes.unshift(0);
  }
  return Buffer.from(bytes);
}

// did:web -> the DID document over HTTP (did:web method spec), then the verification method.
async function resolveKey(didUrl) {
  const [did] = didUrl.split('#');
  const parts = did.split(':');
  if (parts[0] !== 'did' || parts[1] !== 'web') throw new Error(`not did:web: ${did}`);
  const host = decodeURIComponent(parts[2]);
  const path = parts.length > 3 ? parts.slice(3).join('/') : '.well-known';
  const response = await fetch(`${request.didWebScheme}://${host}/${path}/did.json`);
  if (!response.ok) throw new Error(`DID document: HTTP ${response.status}`);
  const document = await response.json();
  if (document.id !== did) throw new Error('the DID document is of another DID');
  const method = document.verificationMethod.find((m) => m.id === didUrl);
  if (!method) throw new Error(`no verification method ${didUrl}`);
  const raw = base58(method.publicKeyMultibase.slice(1));
  if (method.publicKeyMultibase[0] !== 'z' || raw[0] !== 0xed || raw[1] !== 0x01) {
    throw new Error('not an Ed25519 Multikey');
  }
  return { kty: 'OKP', crv: 'Ed25519', x: raw.subarray(2).toString('base64url') };
}

const callbacks = {
  fetch,
  hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'did' || signer.alg !== 'EdDSA') return { verified: false };
    const jwk = await resolveKey(signer.didUrl);
    const [header, payload, signature] = compact.split('.');
    const ok = verify(
      null,
      Buffer.from(`${header}.${payload}`),
      createPublicKey({ key: jwk, format: 'jwk' }),
      Buffer.from(signature, 'base64url'),
    );
    return ok ? { verified: true, signerJwk: jwk } : { verified: false };
  },
  signJwt: async () => {
    throw new Error('this wallet signs no JWT through the library');
  },
  // direct_post.jwt: the library picks the verifier's key and enc; jose (panva) encrypts.
  encryptJwe: async (encryptor, data) => {
    const key = await importJWK(encryptor.publicJwk, encryptor.alg);
    const header = { alg: encryptor.alg, enc: encryptor.enc, kid: encryptor.publicJwk.kid };
    const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader(header)
      .setKeyManagementParameters({
        apu: encryptor.apu ? Buffer.from(encryptor.apu, 'base64url') : undefined,
        apv: encryptor.apv ? Buffer.from(encryptor.apv, 'base64url') : undefined,
      })
      .encrypt(key);
    return { encryptionJwk: encryptor.publicJwk, jwe };
  },
};
const client = new Openid4vpClient({ callbacks });

if (request.action === 'resolve') {
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: request.deepLink });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
  });
  process.stdout.write(
    JSON.stringify({
      parsedType: parsed.type,
      payload: resolved.authorizationRequestPayload,
      client: {
        prefix: resolved.client.prefix,
        identifier: resolved.client.identifier,
        didUrl: resolved.client.didUrl,
      },
      jarSigner: resolved.jar?.signer?.method ?? null,
      version: resolved.version,
      dcql: resolved.dcql?.query ?? null,
    }),
  );
} else if (request.action === 'respond') {
  const payload = request.payload;
  const query = payload.dcql_query.credentials[0];
  let presentation = request.presentation;
  if (request.sdJwt) {
    const holderKey = createPrivateKey({ key: request.holderPrivateJwk, format: 'jwk' });
    const sdjwt = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: 'sha-256',
      saltGenerator: generateSalt,
      kbSigner: async (data) => sign(null, Buffer.from(data), holderKey).toString('base64url'),
      kbSignAlg: 'EdDSA',
    });
    presentation = await sdjwt.present(request.sdJwt, request.frame ?? {}, {
      kb: { payload: { iat: request.now, aud: request.audience ?? payload.client_id, nonce: payload.nonce } },
    });
  }
  const vpToken = { [query.id]: [presentation] };
  const encrypted = payload.response_mode === 'direct_post.jwt';
  const created = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: payload,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm: encrypted
      ? {
          encryption: { nonce: randomBytes(16).toString('base64url') },
          serverMetadata: {
            authorization_signing_alg_values_supported: ['EdDSA'],
            authorization_encryption_alg_values_supported: ['ECDH-ES'],
            authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
          },
        }
      : undefined,
  });
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: payload,
    authorizationResponsePayload: created.authorizationResponsePayload,
    jarm: created.jarm ? { responseJwt: created.jarm.responseJwt } : undefined,
  });
  const text = await submitted.response.text();
  process.stdout.write(
    JSON.stringify({
      responseMode: submitted.responseMode,
      status: submitted.response.status,
      body: text ? JSON.parse(text) : null,
      sentState: created.authorizationResponsePayload.state ?? null,
      jwe: created.jarm?.responseJwt ?? null,
      vpToken,
    }),
  );
} else {
  throw new Error(`unknown action ${request.action}`);
}
