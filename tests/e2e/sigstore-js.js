#!/usr/bin/env node
// Drives sigstore-js (the npm libraries) against a running `sigil dev`,
// without TUF: trust comes from Sigil's trust_config.json.
//
//   node sigstore-js.js sign   --trust-config TC --token JWT --artifact FILE --bundle OUT [--dsse --payload-type T] [--api builder|sigstore]
//   node sigstore-js.js verify --trust-config TC --bundle B [--artifact FILE] --identity ID --issuer ISS
//   node sigstore-js.js verify-tuf --tuf-mirror URL --tuf-root ROOT --tuf-cache DIR --bundle B --artifact FILE --identity EMAIL --issuer ISS
//
// `verify-tuf` (generation 5) calls the `sigstore` package's verify(), which
// takes its trust root only from a TUF mirror (tufMirrorURL + tufRootPath).
//
// Every command also takes --generation 4|5 (default $SIGIL_SIGSTORE_JS_GENERATION,
// else 4): 4 loads the 4.x libraries pinned in ./package.json (@sigstore/sign 4.1.1,
// @sigstore/verify 3.1.1), 5 the 5.x ones pinned in ./js5/package.json (sigstore 5.0.1,
// @sigstore/sign 5.1.0, @sigstore/verify 4.1.3).
//
// `sign --api builder` (the default) signs with @sigstore/sign's
// bundleBuilderFromSigningConfig over the trust config's signingConfig;
// `--api sigstore` (generation 5) calls the `sigstore` package's own
// sign()/attest() with the CA and Rekor URLs named in that signingConfig.
//
// Exit status 0 means success and prints "OK" with the library versions that
// did the work; anything else prints the client's error on stderr.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i].replace(/^--/, '');
    if (key === 'dsse') {
      opts.dsse = true;
    } else {
      opts[key] = rest[++i];
    }
  }
  return { command, opts };
}

function need(opts, name) {
  if (opts[name] === undefined) {
    throw new Error(`missing --${name}`);
  }
  return opts[name];
}

// A `require` that resolves from the chosen generation's node_modules.
function libraries(opts) {
  const generation = opts.generation || process.env.SIGIL_SIGSTORE_JS_GENERATION || '4';
  const dirs = { 4: __dirname, 5: path.join(__dirname, 'js5') };
  if (!dirs[generation]) {
    throw new Error(`unknown --generation ${generation} (4 or 5)`);
  }
  const load = createRequire(path.join(dirs[generation], 'package.json'));
  // The versions actually loaded, e.g. "@sigstore/sign@5.1.0" (printed on success).
  const version = (name) => {
    const manifest = path.join(dirs[generation], 'node_modules', name, 'package.json');
    return `${name}@${JSON.parse(fs.readFileSync(manifest, 'utf8')).version}`;
  };
  return { generation, load, version };
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readTrustConfig(opts) {
  return JSON.parse(fs.readFileSync(need(opts, 'trust-config'), 'utf8'));
}

async function sign(opts) {
  const { generation, load, version } = libraries(opts);
  const trust = readTrustConfig(opts);
  const token = need(opts, 'token');
  const data = fs.readFileSync(need(opts, 'artifact'));
  const payloadType = opts['payload-type'] || 'application/vnd.in-toto+json';
  let json;
  let used;
  switch (opts.api || 'builder') {
    case 'builder': {
      const { SigningConfig } = load('@sigstore/protobuf-specs');
      const { bundleBuilderFromSigningConfig } = load('@sigstore/sign');
      const { bundleToJSON } = load('@sigstore/bundle');
      const builder = bundleBuilderFromSigningConfig({
        signingConfig: SigningConfig.fromJSON(trust.signingConfig),
        identityProvider: { getToken: async () => token },
        bundleType: opts.dsse ? 'dsseEnvelope' : 'messageSignature',
        fetchOptions: { timeout: 15000, retry: 0 },
      });
      const artifact = opts.dsse ? { data, type: payloadType } : { data };
      json = bundleToJSON(await builder.create(artifact));
      used = version('@sigstore/sign');
      break;
    }
    case 'sigstore': {
      if (generation !== '5') {
        throw new Error('--api sigstore needs --generation 5 (the 4.x set has no `sigstore` package)');
      }
      const sigstore = load('sigstore');
      const options = {
        fulcioURL: trust.signingConfig.caUrls[0].url,
        rekorURL: trust.signingConfig.rekorTlogUrls[0].url,
        identityToken: token,
        timeout: 15000,
        retry: 0,
      };
      json = opts.dsse
        ? await sigstore.attest(data, payloadType, options)
        : await sigstore.sign(data, options);
      used = `${version('sigstore')} ${version('@sigstore/sign')}`;
      break;
    }
    default:
      throw new Error(`unknown --api ${opts.api} (builder or sigstore)`);
  }
  fs.writeFileSync(need(opts, 'bundle'), JSON.stringify(json));
  return used;
}

function verify(opts) {
  const { load, version } = libraries(opts);
  const { TrustedRoot } = load('@sigstore/protobuf-specs');
  const { bundleFromJSON } = load('@sigstore/bundle');
  const { Verifier, toSignedEntity, toTrustMaterial } = load('@sigstore/verify');
  const trust = readTrustConfig(opts);
  const material = toTrustMaterial(TrustedRoot.fromJSON(trust.trustedRoot));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(need(opts, 'bundle'), 'utf8')));
  const artifact = opts.artifact ? fs.readFileSync(opts.artifact) : undefined;
  const verifier = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1 });
  // The policy SAN is a RegExp in sigstore-js: anchor it so it means equality.
  verifier.verify(toSignedEntity(bundle, artifact), {
    subjectAlternativeName: `^${escapeRegExp(need(opts, 'identity'))}$`,
    extensions: { issuer: need(opts, 'issuer') },
  });
  return version('@sigstore/verify');
}

async function verifyTuf(opts) {
  const { load, version } = libraries({ ...opts, generation: opts.generation || '5' });
  const sigstore = load('sigstore');
  const bundle = JSON.parse(fs.readFileSync(need(opts, 'bundle'), 'utf8'));
  await sigstore.verify(bundle, fs.readFileSync(need(opts, 'artifact')), {
    tufMirrorURL: need(opts, 'tuf-mirror'),
    tufRootPath: need(opts, 'tuf-root'),
    tufCachePath: need(opts, 'tuf-cache'),
    certificateIssuer: need(opts, 'issuer'),
    certificateIdentityEmail: need(opts, 'identity'),
  });
  return version('sigstore');
}

async function main() {
  const { command, opts } = parseArgs(process.argv.slice(2));
  let used;
  switch (command) {
    case 'sign':
      used = await sign(opts);
      break;
    case 'verify':
      used = verify(opts);
      break;
    case 'verify-tuf':
      used = await verifyTuf(opts);
      break;
    default:
      throw new Error(`unknown command ${command}`);
  }
  console.log(`OK ${used}`);
}

main().catch((err) => {
  console.error(`sigstore-js: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
