#!/usr/bin/env node
// Drives sigstore-js (the npm libraries, pinned in package.json) against a
// running `sigil dev`, without TUF: trust comes from Sigil's trust_config.json.
//
//   node sigstore-js.js sign   --trust-config TC --token JWT --artifact FILE --bundle OUT [--dsse --payload-type T]
//   node sigstore-js.js verify --trust-config TC --bundle B [--artifact FILE] --identity ID --issuer ISS
//
// Exit status 0 means success; anything else prints the client's error on stderr.
'use strict';

const fs = require('node:fs');
const { SigningConfig, TrustedRoot } = require('@sigstore/protobuf-specs');
const { bundleBuilderFromSigningConfig } = require('@sigstore/sign');
const { bundleFromJSON, bundleToJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

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

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function sign(opts) {
  const trust = JSON.parse(fs.readFileSync(need(opts, 'trust-config'), 'utf8'));
  const token = need(opts, 'token');
  const builder = bundleBuilderFromSigningConfig({
    signingConfig: SigningConfig.fromJSON(trust.signingConfig),
    identityProvider: { getToken: async () => token },
    bundleType: opts.dsse ? 'dsseEnvelope' : 'messageSignature',
    fetchOptions: { timeout: 15000, retry: 0 },
  });
  const artifact = { data: fs.readFileSync(need(opts, 'artifact')) };
  if (opts.dsse) {
    artifact.type = opts['payload-type'] || 'application/vnd.in-toto+json';
  }
  const bundle = await builder.create(artifact);
  fs.writeFileSync(need(opts, 'bundle'), JSON.stringify(bundleToJSON(bundle)));
}

function verify(opts) {
  const trust = JSON.parse(fs.readFileSync(need(opts, 'trust-config'), 'utf8'));
  const material = toTrustMaterial(TrustedRoot.fromJSON(trust.trustedRoot));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(need(opts, 'bundle'), 'utf8')));
  const artifact = opts.artifact ? fs.readFileSync(opts.artifact) : undefined;
  const verifier = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1 });
  // The policy SAN is a RegExp in sigstore-js: anchor it so it means equality.
  verifier.verify(toSignedEntity(bundle, artifact), {
    subjectAlternativeName: `^${escapeRegExp(need(opts, 'identity'))}$`,
    extensions: { issuer: need(opts, 'issuer') },
  });
}

async function main() {
  const { command, opts } = parseArgs(process.argv.slice(2));
  switch (command) {
    case 'sign':
      await sign(opts);
      break;
    case 'verify':
      verify(opts);
      break;
    default:
      throw new Error(`unknown command ${command}`);
  }
  console.log('OK');
}

main().catch((err) => {
  console.error(`sigstore-js: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
