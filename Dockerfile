# syntax=docker/dockerfile:1
# One image for the whole stack: `tlog-server`, `ca-server` and `sigil`
# (keygen, trust-root). docker-compose.yml runs it with different commands.

# ---- build -----------------------------------------------------------------
# The tag matches rust-toolchain.toml, so rustup uses the image's toolchain.
FROM rust:1.95.0-bookworm AS builder
WORKDIR /src
COPY . .
# Cache the registry and target dir between builds; copy the binaries out of
# the cache mount so the next stage can see them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sigil -p ca-server -p tlog-server \
 && mkdir -p /out \
 && cp target/release/sigil target/release/ca-server target/release/tlog-server /out/

# ---- runtime ---------------------------------------------------------------
FROM debian:bookworm-slim
# WITH_SOFTHSM=true adds SoftHSM2 (a software PKCS#11 token) for trying the
# PKCS#11 CA backend; a real HSM needs its vendor's PKCS#11 module instead.
ARG WITH_SOFTHSM=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && if [ "$WITH_SOFTHSM" = "true" ]; then apt-get install -y --no-install-recommends softhsm2 libsofthsm2; fi \
 && rm -rf /var/lib/apt/lists/*
# An unprivileged user; /keys is created here, owned by it, so that a fresh
# named volume mounted there is writable by `sigil keygen`.
RUN useradd --system --uid 10001 --home-dir /var/lib/sigil --create-home sigil \
 && mkdir -p /keys /etc/sigil \
 && chown sigil:sigil /keys
COPY --from=builder /out/ /usr/local/bin/
USER sigil
WORKDIR /var/lib/sigil
# tlog-server: Rekor v1 + CT API; ca-server: Fulcio API.
EXPOSE 3000 5555
CMD ["sigil", "--help"]
